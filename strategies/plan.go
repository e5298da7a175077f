package strategies

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/authflow/authflow/interp"
)

// Plan is a strategy file compiled: every strategy merged with the
// catalogue, checked, and every template compiled once, knowing its phase,
// its escaping context and where each placeholder's value comes from. Only
// Load, Parse and Compile make one, and only when the file has no error: a
// Plan cannot be built around the checks. It is immutable and safe for
// concurrent use; package engine runs it.
type Plan struct {
	file       string
	strategies []*StrategyPlan
	warnings   Problems
}

// File returns the name of the file the plan was compiled from.
func (p *Plan) File() string { return p.file }

// Strategies returns the compiled strategies in file order.
func (p *Plan) Strategies() []*StrategyPlan { return slices.Clone(p.strategies) }

// Strategy returns the compiled strategy of that name, or nil.
func (p *Plan) Strategy(name string) *StrategyPlan {
	for _, sp := range p.strategies {
		if sp.def.Name == name {
			return sp
		}
	}
	return nil
}

// Lookup returns a copy of the definition of the strategy of that name, or
// nil. Changing it changes nothing in the plan.
func (p *Plan) Lookup(name string) *Strategy {
	if sp := p.Strategy(name); sp != nil {
		return sp.Definition()
	}
	return nil
}

// Names returns the strategies' names in file order.
func (p *Plan) Names() []string {
	out := make([]string, len(p.strategies))
	for i, sp := range p.strategies {
		out[i] = sp.def.Name
	}
	return out
}

// Warnings returns what the compile found that does not stop the file from
// loading.
func (p *Plan) Warnings() Problems { return slices.Clone(p.warnings) }

// StrategyPlan is one compiled strategy of a Plan.
type StrategyPlan struct {
	def    *Strategy
	raw    *node       // the merged definition, for explain
	fields []*Template // every template, in check order (variables first)

	vars       []Variable // in dependency order
	authURI    *Template
	authPlaces map[string]bool // parameters auth_uri places itself
	logoutURI  *Template
	login      []*StepPlan
	refresh    *StepPlan
	revoke     []*StepPlan // revoke, revoke_…: in file order
	claims     []Claim
	sendsNonce bool
	key        keyFields
	tenants    *Template

	loginParams []LoginParam // sorted by name

	bearer         *BearerPlan // nil: no bearer tokens (bearer.go)
	introspect     *StepPlan
	upstreamClaims []Claim
}

// Name returns the strategy's name.
func (sp *StrategyPlan) Name() string { return sp.def.Name }

// Label returns the display name.
func (sp *StrategyPlan) Label() string { return sp.def.Label }

// RedirectPath returns the callback path, checked against every other
// strategy's and against authflow's own routes.
func (sp *StrategyPlan) RedirectPath() string { return sp.def.RedirectPath }

// JWTKey returns the session key of the user object.
func (sp *StrategyPlan) JWTKey() string { return sp.def.JWTKey }

// UserStep returns the name of the step whose result is the user object.
func (sp *StrategyPlan) UserStep() string { return sp.def.UserStep() }

// Definition returns a copy of the strategy as written (merged, with its
// defaults). Changing it changes nothing in the plan.
func (sp *StrategyPlan) Definition() *Strategy { return sp.def.clone() }

// PKCE reports whether every login sends a PKCE S256 challenge.
func (sp *StrategyPlan) PKCE() bool { return !sp.def.InsecureNoPKCE }

// SendsNonce reports whether every login sends a nonce (and checks it in
// the ID token): the scope holds openid and the nonce is not turned off.
func (sp *StrategyPlan) SendsNonce() bool { return sp.sendsNonce }

// BackchannelLogout reports whether the back-channel logout receiver is
// enabled; its logout tokens are verified with the keys of JWTStep.
func (sp *StrategyPlan) BackchannelLogout() bool { return sp.def.BackchannelLogout }

// Variables returns the strategy's variables in dependency order: a
// variable's template reads only ${env.NAME} and variables before it.
func (sp *StrategyPlan) Variables() []Variable { return slices.Clone(sp.vars) }

// Templates returns every template of the strategy (variables first), for
// what the engine binds when it starts: the environment, and the URIs it
// can check then.
func (sp *StrategyPlan) Templates() []*Template {
	out := make([]*Template, 0, len(sp.fields)+len(sp.vars))
	for _, v := range sp.vars {
		out = append(out, v.Value)
	}
	for _, f := range sp.fields {
		if f.phase != PhaseVariable {
			out = append(out, f)
		}
	}
	return out
}

// AuthURI returns the authorize URL template.
func (sp *StrategyPlan) AuthURI() *Template { return sp.authURI }

// AuthURIPlaces reports whether the authorize URL template places the
// query parameter param (state, nonce, code_challenge,
// code_challenge_method) itself, as a placeholder of that name or a
// literal parameter; the engine adds the others.
func (sp *StrategyPlan) AuthURIPlaces(param string) bool { return sp.authPlaces[param] }

// LogoutURI returns the RP-initiated logout URL template, or nil.
func (sp *StrategyPlan) LogoutURI() *Template { return sp.logoutURI }

// LoginSteps returns the steps run after the callback, in order.
func (sp *StrategyPlan) LoginSteps() []*StepPlan { return slices.Clone(sp.login) }

// RefreshStep returns the refresh step, or nil.
func (sp *StrategyPlan) RefreshStep() *StepPlan { return sp.refresh }

// RevokeStep returns the first revoke step (IsRevokeStep), or nil.
func (sp *StrategyPlan) RevokeStep() *StepPlan {
	if len(sp.revoke) == 0 {
		return nil
	}
	return sp.revoke[0]
}

// RevokeSteps returns the revoke steps ("revoke" and "revoke_…"), in file
// order: all of them run at sign-out.
func (sp *StrategyPlan) RevokeSteps() []*StepPlan { return slices.Clone(sp.revoke) }

// JWTStep returns the step named "jwt", or nil: with BackchannelLogout, a
// verified decode step whose keys, issuer and audience check logout tokens.
func (sp *StrategyPlan) JWTStep() *StepPlan {
	for _, s := range sp.login {
		if s.name == StepJWT {
			return s
		}
	}
	return nil
}

// Discovery reports whether the strategy has an issuer key: the engine
// then reads ${issuer}/.well-known/openid-configuration when it starts,
// for ${discovery.NAME}.
func (sp *StrategyPlan) Discovery() bool {
	_, ok := sp.def.Custom[VarIssuer]
	return ok
}

// Claims returns the mapped claims, by name.
func (sp *StrategyPlan) Claims() []Claim { return slices.Clone(sp.claims) }

// Variable is one strategy variable with its compiled value.
type Variable struct {
	Name  string
	Value *Template
}

// Claim is one mapped claim: a gjson path into the user object, or, when
// Step is set, into that login step's result.
type Claim struct {
	Name string
	Step string // "" for the user object
	Path string
}

// Param is a named template: a header, a form field.
type Param struct {
	Name  string
	Value *Template
}

// StepPlan is one compiled step.
type StepPlan struct {
	name       string
	method     string
	uri        *Template
	headers    []Param
	auth       *[2]*Template
	form       []Param
	json       any
	errorPath  string
	clientAuth string
	isUser     bool

	decode     *Template
	skipVerify bool
	issuer     *Template
	jwksURI    *Template
	audience   *Template
	algorithms []string
}

// Name returns the step's name.
func (s *StepPlan) Name() string { return s.name }

// IsUser reports whether the step's result is the user object.
func (s *StepPlan) IsUser() bool { return s.isUser }

// IsDecode reports whether the step decodes a JWT rather than calling a URI.
func (s *StepPlan) IsDecode() bool { return s.decode != nil }

// Method returns an HTTP step's method, upper-case (default GET).
func (s *StepPlan) Method() string { return s.method }

// URI returns an HTTP step's URI template.
func (s *StepPlan) URI() *Template { return s.uri }

// Headers returns config.headers, sorted by name.
func (s *StepPlan) Headers() []Param { return slices.Clone(s.headers) }

// BasicAuth returns config.auth's username and password templates, or nils.
func (s *StepPlan) BasicAuth() (username, password *Template) {
	if s.auth == nil {
		return nil, nil
	}
	return s.auth[0], s.auth[1]
}

// Form returns the form body's fields, sorted by name; nil without a form.
func (s *StepPlan) Form() []Param { return slices.Clone(s.form) }

// JSON returns a copy of the JSON body, nil without one: a tree of
// map[string]any, []any, json.Number, bool and nil whose strings are
// *Template leaves.
func (s *StepPlan) JSON() any { return cloneJSON(s.json) }

// ClientAuth returns how the engine authenticates the client on this step
// (a strategies.ClientAuth* value), or "" when the step's own form and
// config.auth do.
func (s *StepPlan) ClientAuth() string { return s.clientAuth }

// ErrorPath returns the gjson path naming an error code in a 2xx answer,
// or "".
func (s *StepPlan) ErrorPath() string { return s.errorPath }

// Decode returns a decode step's template naming the JWT.
func (s *StepPlan) Decode() *Template { return s.decode }

// InsecureSkipVerify reports whether a decode step decodes the JWT
// without any check ("verify": false).
func (s *StepPlan) InsecureSkipVerify() bool { return s.skipVerify }

// Issuer returns a decode step's expected iss (fixed: variables and
// ${env.NAME} only).
func (s *StepPlan) Issuer() *Template { return s.issuer }

// JWKSURI returns a decode step's jwks_uri, or nil for discovery through
// the issuer.
func (s *StepPlan) JWKSURI() *Template { return s.jwksURI }

// Audience returns a decode step's expected aud, or nil for the client_id.
func (s *StepPlan) Audience() *Template { return s.audience }

// Algorithms returns the algorithms a decode step accepts (the default
// when the file lists none).
func (s *StepPlan) Algorithms() []string { return slices.Clone(s.algorithms) }

// Template is one compiled template of a plan: its text parsed once, the
// phase it runs in, the context its output is escaped for, and, for each
// placeholder, where the value comes from (the scope table's answer).
type Template struct {
	step  string // "" for strategy keys
	name  string // dotted field name for messages: form.code
	src   string
	ctx   interp.Context
	phase Phase
	index int // a login step's position among the login steps

	t    *interp.Template // nil when src does not compile
	err  error
	refs []Binding // parallel to t.Refs()
}

// String returns the template as written.
func (t *Template) String() string { return t.src }

// Field returns the field the template comes from, for messages:
// "auth_uri", "form.code", "config.headers.Authorization".
func (t *Template) Field() string { return t.name }

// Step returns the name of the step the template belongs to, "" for a
// strategy key.
func (t *Template) Step() string { return t.step }

// Phase returns when the template runs.
func (t *Template) Phase() Phase { return t.phase }

// Context returns the escaping context of the template's output.
func (t *Template) Context() interp.Context { return t.ctx }

// Bindings returns the template's placeholders with where each value comes
// from.
func (t *Template) Bindings() []Binding { return slices.Clone(t.refs) }

// Execute expands the template. value returns the value of one placeholder
// and whether it has one; its origin, and so its escaping, is the
// Binding's. A placeholder without a value fails with an *interp.ExecError
// wrapping interp.ErrMissing.
func (t *Template) Execute(value func(Binding) (string, bool)) (string, error) {
	return t.t.Execute(func(r interp.Ref) (string, interp.Origin, bool) {
		b := t.refs[r.Index]
		v, ok := value(b)
		return v, b.Origin, ok
	})
}

// ErrNotAbsolute is wrapped by CheckAbsolute's error.
var ErrNotAbsolute = errors.New("must be an absolute http(s) URL, such as https://idp.example.com/authorize")

// CheckAbsolute checks that a URI template begins with an absolute http(s)
// URL: a scheme of http or https and a host. prefix returns, for one
// placeholder, the text it is known to begin with and whether that is the
// whole value; the check stops at the first value not known whole, and
// passes when what is known leaves it open. The compile runs it with the
// file's variables; the engine again with the environment and the server's
// base_uri.
func (t *Template) CheckAbsolute(prefix func(Binding) (text string, whole bool)) error {
	var b strings.Builder
	open := false
	for i, r := range t.refs {
		b.WriteString(t.t.Literal(i))
		text, whole := prefix(r)
		b.WriteString(text)
		if !whole {
			open = true
			break
		}
	}
	if !open {
		b.WriteString(t.t.Literal(len(t.refs)))
	}
	if !absolutePrefix(b.String(), open) {
		return ErrNotAbsolute
	}
	return nil
}

// absolutePrefix reports whether s, the start of a URL (all of it unless
// open), begins http:// or https:// and a host, or, when open, could.
func absolutePrefix(s string, open bool) bool {
	lower := strings.ToLower(s)
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(lower, scheme); ok {
			if rest == "" {
				return open
			}
			return !strings.ContainsRune("/?#", rune(rest[0]))
		}
		if open && strings.HasPrefix(scheme, lower) {
			return true
		}
	}
	return false
}

// where names a field for messages: "auth_uri", "step \"token\" form.client_id".
func (t *Template) where() string {
	if t.step == "" {
		return t.name
	}
	return fmt.Sprintf("step %q %s", t.step, t.name)
}
