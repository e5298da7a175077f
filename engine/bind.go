package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	discovery   *discovery        // the issuer's discovery document; nil without an issuer
	leftOut     map[string]string // step (or StepLogout) → the discovery member it lacks

	login   []*step // run after the callback, in order
	refresh *step
	revoke  []*step // revoke and revoke_… steps, in file order

	logoutVerifier *verifier // back-channel logout tokens; nil when disabled

	key           *clientKey      // client_key; nil without one
	signed        *signedSecret   // signed_client_secret; nil without one
	tokenEndpoint string          // the token step's URL, the default audience of client assertions
	assertionAud  string          // client_assertion_audience; "" for tokenEndpoint
	bearer        *bearerStrategy // nil unless the strategy takes bearer tokens (bearer.go)
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

// LeftOut returns the steps (and StepLogout, for logout_uri) the engine
// runs without because the issuer's discovery document does not name the
// endpoint they call, each with the member it lacks
// (${discovery.revocation_endpoint} → "revocation_endpoint").
func (s *Strategy) LeftOut() map[string]string { return maps.Clone(s.leftOut) }

// DiscoveryURL returns where the strategy's discovery document was read,
// or "" for a strategy without an issuer.
func (s *Strategy) DiscoveryURL() string {
	if s.discovery == nil {
		return ""
	}
	return s.discovery.url
}

// DiscoveryMember returns the string member name of the strategy's
// discovery document (the value of ${discovery.NAME}) and whether the
// document has it; false for a strategy without an issuer.
func (s *Strategy) DiscoveryMember(name string) (string, bool) {
	if s.discovery == nil {
		return "", false
	}
	v, ok := s.discovery.members[name]
	return v, ok
}

// ClientAuth returns how the engine authenticates the client at a step
// (token, refresh, revoke): a strategies.ClientAuth* method, with
// "discovery" decided by the discovery document; "" when the step's form
// and config.auth do, or the step is not run (unknown, or left out).
func (s *Strategy) ClientAuth(name string) string {
	steps := append(append([]*step{s.refresh}, s.revoke...), s.login...)
	if s.bearer != nil {
		steps = append(steps, s.bearer.introspect)
	}
	for _, st := range steps {
		if st != nil && st.Name() == name {
			return st.clientAuth
		}
	}
	return ""
}

// step is a step of the plan with what the engine binds to it.
type step struct {
	*strategies.StepPlan
	verify *verifier // nil for an unverified decode (debugging only) and HTTP steps
	// clientAuth is how the engine authenticates the client (a
	// strategies.ClientAuth* method, "discovery" decided); "" when the
	// step's form and config.auth do.
	clientAuth string
	// ignoreBody: only the status counts (revocation, RFC 7009 §2.2).
	ignoreBody bool
}

// bind binds one compiled strategy: it reads the environment its
// templates name (an unset variable is an error), resolves the variables
// in their dependency order, checks the URIs it can now, and builds the
// verifiers. Nothing is compiled here: the plan's templates are run as
// they are.
func (e *Engine) bind(ctx context.Context, sp *strategies.StrategyPlan) (*Strategy, error) {
	s := &Strategy{e: e, plan: sp, vars: map[string]string{}, env: map[string]string{}, leftOut: map[string]string{}}
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
				return nil, &EnvUnsetError{Step: t.Step(), Field: t.Field(), Name: b.Path}
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
	if s.vars["base_uri"] == "" && sp.BrowserLogin() {
		return nil, errors.New("base_uri: not set in the strategy, the file, or the server settings")
	}
	s.redirectURI = strings.TrimRight(s.vars["base_uri"], "/") + sp.RedirectPath()
	if sp.Discovery() {
		if err := s.bindDiscovery(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.bindKey(); err != nil {
		return nil, err
	}
	s.tokenEndpoint = s.tokenEndpointOf()
	for _, t := range templates {
		if t.Context() != interp.URI || s.leftOut[templateOwner(t)] != "" {
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
		if s.leftOut[p.Name()] != "" {
			continue
		}
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
	for _, p := range sp.RevokeSteps() {
		if s.leftOut[p.Name()] != "" {
			continue
		}
		st, err := s.bindStep(p)
		if err != nil {
			return nil, err
		}
		st.ignoreBody = true
		s.revoke = append(s.revoke, st)
	}
	if err := s.bindBearer(); err != nil { // bearer.go
		return nil, err
	}
	return s, nil
}

// bindDiscovery reads the issuer's discovery document, once, and decides
// which steps it leaves out: a userinfo, revoke or introspect step, or
// logout_uri, that reads a member the document lacks is left out; any
// other template that does is an error.
func (s *Strategy) bindDiscovery(ctx context.Context) error {
	issuer := s.vars[strategies.VarIssuer]
	if issuer == "" {
		return fmt.Errorf("%s: empty: discovery needs the issuer's URL", strategies.VarIssuer)
	}
	d, err := s.e.discover(ctx, issuer)
	if err != nil {
		return err
	}
	s.discovery = d
	sp := s.plan
	check := func(owner string, templates ...*strategies.Template) error {
		m := d.missingMember(templates...)
		switch {
		case m == "":
		case strategies.DiscoveryOptional(owner):
			s.leftOut[owner] = m
		case owner == "":
			return fmt.Errorf("discovery at %s names no %s, which auth_uri needs", d.url, m)
		default:
			return fmt.Errorf("discovery at %s names no %s, which step %q needs", d.url, m, owner)
		}
		return nil
	}
	if err := check("", sp.AuthURI()); err != nil {
		return err
	}
	if err := check(StepLogout, sp.LogoutURI()); err != nil {
		return err
	}
	if m := d.missingMember(sp.DeviceURI()); m != "" {
		s.leftOut[StepDevice] = m // `authflow login` falls back to the loopback login
	}
	steps := sp.LoginSteps()
	if p := sp.RefreshStep(); p != nil {
		steps = append(steps, p)
	}
	steps = append(steps, sp.RevokeSteps()...)
	if b := sp.Bearer(); b != nil && b.Introspect() {
		steps = append(steps, sp.IntrospectStep()) // else never run (bearer.go)
	}
	for _, p := range steps {
		if err := check(p.Name(), stepTemplates(p)...); err != nil {
			return err
		}
	}
	return nil
}

// templateOwner returns the step a template belongs to, StepLogout for
// logout_uri, "" for the other strategy keys.
func templateOwner(t *strategies.Template) string {
	if t.Step() == "" && t.Field() == "logout_uri" {
		return StepLogout
	}
	if t.Step() == "" && t.Field() == "device_uri" {
		return StepDevice
	}
	return t.Step()
}

func (s *Strategy) bindStep(p *strategies.StepPlan) (*step, error) {
	st := &step{StepPlan: p, clientAuth: p.ClientAuth()}
	if st.clientAuth == strategies.ClientAuthDiscovery {
		st.clientAuth = s.discovery.clientAuth(st.clientAuth, s.vars["client_secret"] != "" || s.signed != nil, s.key != nil)
	}
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
	case strategies.FromDiscovery:
		if s.discovery == nil {
			return "", false
		}
		v, ok := s.discovery.members[b.Path]
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
