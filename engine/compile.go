package engine

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
)

// Strategy is one compiled strategy: its templates parsed, its variables
// resolved. Get it from Engine.Strategy.
type Strategy struct {
	e   *Engine
	def *strategies.Strategy

	vars        map[string]string // resolved variables
	env         map[string]string // ${env.NAME} read by the templates, snapshot at New
	redirectURI string

	authURI   *interp.Template
	authPlace map[string]bool // which of state/nonce/code_challenge/code_challenge_method auth_uri places itself
	logoutURI *interp.Template
	login     []*step // run after the callback, in order
	refresh   *step
	revoke    *step
	useNonce  bool

	logoutVerifier *verifier // back-channel logout tokens; nil when disabled
}

// Name returns the strategy's name.
func (s *Strategy) Name() string { return s.def.Name }

// Label returns the strategy's display name.
func (s *Strategy) Label() string { return s.def.Label }

// Definition returns the strategy as loaded (templates unexpanded).
func (s *Strategy) Definition() *strategies.Strategy { return s.def }

// RedirectURI returns the callback URL: base_uri + redirect_path.
func (s *Strategy) RedirectURI() string { return s.redirectURI }

// RedirectPath returns the callback path.
func (s *Strategy) RedirectPath() string { return s.def.RedirectPath }

// JWTKey returns the session key under which the user object is kept.
func (s *Strategy) JWTKey() string { return s.def.JWTKey }

// CanRefresh reports whether the strategy has a refresh step.
func (s *Strategy) CanRefresh() bool { return s.refresh != nil }

// step is a compiled step.
type step struct {
	name    string
	method  string
	uri     *interp.Template
	headers []namedTemplate
	auth    *[2]*interp.Template // username, password
	form    []namedTemplate
	json    any // the step's JSON body with *interp.Template string leaves
	decode  *interp.Template
	verify  *verifier // nil for an unverified decode (debugging only)
	isUser  bool      // its result is the user object
	// ignoreBody: only the status counts (revocation, RFC 7009 §2.2).
	ignoreBody bool
	// errorPath is the step's error_path: a gjson path naming an error
	// code in a 2xx answer; "" for none.
	errorPath string
}

type namedTemplate struct {
	name string
	t    *interp.Template
}

func (e *Engine) compile(def *strategies.Strategy) (*Strategy, error) {
	s := &Strategy{e: e, def: def, env: map[string]string{}, authPlace: map[string]bool{}}
	if err := s.resolveVariables(); err != nil {
		return nil, err
	}
	if s.vars["base_uri"] == "" {
		return nil, errors.New("base_uri: not set in the strategy, the file, or the server settings")
	}
	s.redirectURI = strings.TrimRight(s.vars["base_uri"], "/") + def.RedirectPath
	s.useNonce = def.Nonce && hasScope(def.Scope, "openid")

	var err error
	if s.authURI, err = s.template("auth_uri", def.AuthURI); err != nil {
		return nil, err
	}
	for _, r := range s.authURI.Refs() {
		s.authPlace[r.Root] = true
	}
	if q := strings.Index(def.AuthURI, "?"); q >= 0 {
		if u, err := url.ParseQuery(literalQuery(def.AuthURI[q+1:])); err == nil {
			for k := range u {
				s.authPlace[k] = true
			}
		}
	}
	if def.LogoutURI != "" {
		if s.logoutURI, err = s.template("logout_uri", def.LogoutURI); err != nil {
			return nil, err
		}
	}
	if def.BackchannelLogout {
		if s.logoutVerifier, err = s.newLogoutVerifier(); err != nil {
			return nil, err
		}
	}
	userStep := def.UserStep()
	for _, d := range def.Steps {
		st, err := s.compileStep(d)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", d.Name, err)
		}
		switch d.Name {
		case strategies.StepRefresh:
			s.refresh = st
		case strategies.StepRevoke:
			st.ignoreBody = true
			s.revoke = st
		default:
			st.isUser = d.Name == userStep
			s.login = append(s.login, st)
		}
	}
	return s, nil
}

// literalQuery drops placeholders from a query so that only literal keys remain.
func literalQuery(q string) string {
	var b strings.Builder
	for _, part := range strings.Split(q, "&") {
		if k, _, _ := strings.Cut(part, "="); !strings.Contains(k, "${") {
			b.WriteString(k + "=x&")
		}
	}
	return b.String()
}

// resolveVariables expands ${env.NAME} and other variables inside the
// strategy's variables, once.
func (s *Strategy) resolveVariables() error {
	raw := s.def.Variables()
	if raw["base_uri"] == "" {
		raw["base_uri"] = s.e.opts.BaseURI
	}
	s.vars = make(map[string]string, len(raw))
	resolving := map[string]bool{}
	var resolve func(name string) (string, error)
	resolve = func(name string) (string, error) {
		if v, ok := s.vars[name]; ok {
			return v, nil
		}
		if resolving[name] {
			return "", fmt.Errorf("variable %q refers to itself", name)
		}
		resolving[name] = true
		defer delete(resolving, name)
		t, err := interp.Compile(raw[name])
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		v, err := t.Execute(interp.Raw, func(r interp.Ref) (string, interp.Origin, bool) {
			if r.Root == strategies.RootEnv {
				v, ok := s.e.opts.LookupEnv(r.Path)
				return v, interp.Config, ok
			}
			if _, ok := raw[r.Root]; !ok {
				return "", interp.Config, false
			}
			v, err2 := resolve(r.Root)
			if err2 != nil {
				err = err2
				return "", interp.Config, false
			}
			return v, interp.Config, true
		})
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		s.vars[name] = v
		return v, nil
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := resolve(n); err != nil {
			return err
		}
	}
	return nil
}

// template compiles one template and snapshots the environment variables it
// reads, failing on one that is unset.
func (s *Strategy) template(field, src string) (*interp.Template, error) {
	t, err := interp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	for _, r := range t.Refs() {
		if r.Root != strategies.RootEnv {
			continue
		}
		v, ok := s.e.opts.LookupEnv(r.Path)
		if !ok {
			return nil, fmt.Errorf("%s: %s: environment variable %s is not set", field, r, r.Path)
		}
		s.env[r.Path] = v
	}
	return t, nil
}

// fixed executes a template that may read only variables and the
// environment (jwks_uri, issuer, audience), at compile time.
func (s *Strategy) fixed(field, src string) (string, error) {
	t, err := s.template(field, src)
	if err != nil {
		return "", err
	}
	sc := &scope{s: s}
	v, err := t.Execute(interp.Raw, sc.lookup)
	if err != nil {
		return "", fmt.Errorf("%s: must be fixed when the file loads (variables and ${env.NAME} only): %w", field, err)
	}
	return v, nil
}

func (s *Strategy) compileStep(d strategies.Step) (*step, error) {
	st := &step{name: d.Name, method: strings.ToUpper(d.Method), errorPath: d.ErrorPath}
	if st.method == "" {
		st.method = "GET"
	}
	var err error
	if d.IsDecode() {
		if st.decode, err = s.template("decode", d.Decode); err != nil {
			return nil, err
		}
		if d.Verify {
			if st.verify, err = s.newVerifier(d, true); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
	if st.uri, err = s.template("uri", d.URI); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(d.Headers) {
		t, err := s.template("config.headers."+k, d.Headers[k])
		if err != nil {
			return nil, err
		}
		st.headers = append(st.headers, namedTemplate{k, t})
	}
	if d.Auth != nil {
		u, err := s.template("config.auth.username", d.Auth.Username)
		if err != nil {
			return nil, err
		}
		p, err := s.template("config.auth.password", d.Auth.Password)
		if err != nil {
			return nil, err
		}
		st.auth = &[2]*interp.Template{u, p}
	}
	for _, k := range sortedKeys(d.Form) {
		t, err := s.template("form."+k, d.Form[k])
		if err != nil {
			return nil, err
		}
		st.form = append(st.form, namedTemplate{k, t})
	}
	if d.JSON != nil {
		if st.json, err = s.compileJSON("json", d.JSON); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// compileJSON replaces every string leaf of a JSON body with its template.
func (s *Strategy) compileJSON(path string, v any) (any, error) {
	switch x := v.(type) {
	case string:
		return s.template(path, x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := s.compileJSON(path+"."+k, e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := s.compileJSON(fmt.Sprintf("%s.%d", path, i), e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	default:
		return v, nil
	}
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
