package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
)

// Strategy is one strategy of a plan bound to an engine: its variables
// resolved with the environment, its verifiers given key sets. Get it from
// Engine.Strategy.
type Strategy struct {
	e    *Engine
	plan *strategies.StrategyPlan

	vars        map[string]string // resolved variables
	env         map[string]string // ${env.NAME} the templates read, read once in New
	redirectURI string

	login   []*step // run after the callback, in order
	refresh *step
	revoke  *step

	logoutVerifier *verifier // back-channel logout tokens; nil when disabled
}

// Name returns the strategy's name.
func (s *Strategy) Name() string { return s.plan.Name() }

// Label returns the strategy's display name.
func (s *Strategy) Label() string { return s.plan.Label() }

// Plan returns the compiled strategy the engine runs.
func (s *Strategy) Plan() *strategies.StrategyPlan { return s.plan }

// Definition returns a copy of the strategy as loaded (templates
// unexpanded). Changing it changes nothing in the engine.
func (s *Strategy) Definition() *strategies.Strategy { return s.plan.Definition() }

// RedirectURI returns the callback URL: base_uri + redirect_path.
func (s *Strategy) RedirectURI() string { return s.redirectURI }

// RedirectPath returns the callback path.
func (s *Strategy) RedirectPath() string { return s.plan.RedirectPath() }

// JWTKey returns the session key under which the user object is kept.
func (s *Strategy) JWTKey() string { return s.plan.JWTKey() }

// CanRefresh reports whether the strategy has a refresh step.
func (s *Strategy) CanRefresh() bool { return s.refresh != nil }

// step is a step of the plan with what the engine binds to it.
type step struct {
	*strategies.StepPlan
	verify *verifier // nil for an unverified decode (debugging only) and HTTP steps
	// ignoreBody: only the status counts (revocation, RFC 7009 §2.2).
	ignoreBody bool
}

// bind binds one compiled strategy: it reads the environment its
// templates name (an unset variable is an error), resolves the variables
// in their dependency order, checks the URIs it can now, and builds the
// verifiers. Nothing is compiled here: the plan's templates are run as
// they are.
func (e *Engine) bind(sp *strategies.StrategyPlan) (*Strategy, error) {
	s := &Strategy{e: e, plan: sp, vars: map[string]string{}, env: map[string]string{}}
	templates := sp.Templates()
	for _, t := range templates {
		for _, b := range t.Bindings() {
			if b.Source != strategies.FromEnv {
				continue
			}
			if _, done := s.env[b.Path]; done {
				continue
			}
			v, ok := e.opts.LookupEnv(b.Path)
			if !ok {
				return nil, fmt.Errorf("%s: %s: environment variable %s is not set", where(t), b.Ref, b.Path)
			}
			s.env[b.Path] = v
		}
	}
	for _, v := range sp.Variables() {
		val, err := v.Value.Execute(s.fixedValue)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		if v.Name == "base_uri" && val == "" {
			val = e.opts.BaseURI
		}
		s.vars[v.Name] = val
	}
	if s.vars["base_uri"] == "" {
		return nil, errors.New("base_uri: not set in the strategy, the file, or the server settings")
	}
	s.redirectURI = strings.TrimRight(s.vars["base_uri"], "/") + sp.RedirectPath()
	for _, t := range templates {
		if t.Context() != interp.URI {
			continue
		}
		if err := t.CheckAbsolute(s.startPrefix); err != nil {
			return nil, fmt.Errorf("%s: with its variables set: %w", where(t), err)
		}
	}
	if sp.BackchannelLogout() {
		var err error
		if s.logoutVerifier, err = s.newLogoutVerifier(); err != nil {
			return nil, err
		}
	}
	for _, p := range sp.LoginSteps() {
		st, err := s.bindStep(p)
		if err != nil {
			return nil, err
		}
		s.login = append(s.login, st)
	}
	var err error
	if p := sp.RefreshStep(); p != nil {
		if s.refresh, err = s.bindStep(p); err != nil {
			return nil, err
		}
	}
	if p := sp.RevokeStep(); p != nil {
		if s.revoke, err = s.bindStep(p); err != nil {
			return nil, err
		}
		s.revoke.ignoreBody = true
	}
	return s, nil
}

func (s *Strategy) bindStep(p *strategies.StepPlan) (*step, error) {
	st := &step{StepPlan: p}
	if p.IsDecode() && !p.InsecureSkipVerify() {
		v, err := s.newVerifier(p, true)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", p.Name(), err)
		}
		st.verify = v
	}
	return st, nil
}

// fixedValue is the value of a placeholder that is known when the engine
// starts: a variable resolved before, ${env.NAME}, ${redirect_uri}.
func (s *Strategy) fixedValue(b strategies.Binding) (string, bool) {
	switch b.Source {
	case strategies.FromVariable:
		v, ok := s.vars[b.Root]
		return v, ok
	case strategies.FromEnv:
		v, ok := s.env[b.Path]
		return v, ok
	case strategies.FromEngine:
		if b.Root == strategies.VarRedirectURI && s.redirectURI != "" {
			return s.redirectURI, true
		}
	}
	return "", false
}

// startPrefix is CheckAbsolute's prefix once the engine starts: what is
// fixed then is known whole.
func (s *Strategy) startPrefix(b strategies.Binding) (string, bool) {
	return s.fixedValue(b)
}

// fixed executes a template that may read only variables and the
// environment (jwks_uri, issuer, audience): the plan made sure of that.
func (s *Strategy) fixed(t *strategies.Template) (string, error) {
	if t == nil {
		return "", nil
	}
	v, err := t.Execute(s.fixedValue)
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Field(), err)
	}
	return v, nil
}

// where names a template's field for messages: "auth_uri",
// "step \"token\": form.code".
func where(t *strategies.Template) string {
	if t.Step() == "" {
		return t.Field()
	}
	return fmt.Sprintf("step %q: %s", t.Step(), t.Field())
}
