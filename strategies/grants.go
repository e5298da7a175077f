package strategies

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Grant types a strategy's grant_type may name (the value of ${grant_type}).
// Any other value is sent as written, in a browser login.
const (
	// GrantAuthorizationCode is the default: a browser login through
	// auth_uri and the callback (RFC 6749 §4.1). With a device_uri, the
	// strategy can log in from a terminal too.
	GrantAuthorizationCode = "authorization_code"
	// GrantClientCredentials is a client acting for itself (RFC 6749
	// §4.4): a token step and nothing else, no auth_uri, no user. Such a
	// strategy is never offered on the chooser and has no login routes;
	// the engine's TokenSource and `authflow token` run it.
	GrantClientCredentials = "client_credentials"
	// GrantDeviceCode is the device authorization grant (RFC 8628): while
	// a device login polls the token step, ${grant_type} is this value. A
	// strategy whose grant_type names it logs in through device_uri only.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// browserGrant reports whether a strategy of that grant type logs in
// through a browser redirect, and so needs an auth_uri.
func browserGrant(g string) bool { return g != GrantClientCredentials && g != GrantDeviceCode }

// BrowserLoginValue reports whether a placeholder has a value only in a
// browser login, from the redirect and its callback: ${auth.*}, ${state},
// ${nonce}, ${code_verifier}, ${code_challenge}, ${redirect_uri}. A device
// login leaves out the token step's form fields that read one (the
// catalogue's oidc token step serves both kinds of login); a browser login
// leaves out those that read ${device_code}.
func BrowserLoginValue(b Binding) bool {
	switch b.Source {
	case FromCallback:
		return true
	case FromLogin:
		return b.Root != VarDeviceCode
	case FromEngine:
		return b.Root == VarRedirectURI
	}
	return false
}

// GrantType returns the strategy's grant_type (default authorization_code).
func (sp *StrategyPlan) GrantType() string { return sp.def.GrantType }

// BrowserLogin reports whether the strategy logs users in through a
// browser redirect: it has an auth_uri, login routes and a place on the
// chooser. A client_credentials strategy, and one that logs in through
// device_uri only, do not.
func (sp *StrategyPlan) BrowserLogin() bool { return sp.authURI != nil }

// ClientCredentials reports whether the strategy is a client acting for
// itself (grant_type client_credentials): its token step is all it runs.
func (sp *StrategyPlan) ClientCredentials() bool { return sp.def.GrantType == GrantClientCredentials }

// DeviceURI returns the device authorization endpoint template, or nil
// when the strategy has no device login.
func (sp *StrategyPlan) DeviceURI() *Template {
	for _, f := range sp.fields {
		if f.step == "" && f.name == "device_uri" {
			return f
		}
	}
	return nil
}

// validateGrant checks what the strategy's grant type asks of it: a
// client_credentials strategy is a token step and nothing a browser login
// has; a device login needs a device_uri and a token step it can poll.
func (c *compiler) validateGrant() {
	r, st := c.r, c.st
	name := st.Name
	switch st.GrantType {
	case GrantClientCredentials:
		noBrowser := func(field, what string) {
			r.errorf(name, "", field, "a client_credentials strategy has no user and no browser login: remove %s", what)
		}
		if st.AuthURI != "" {
			noBrowser("auth_uri", "auth_uri")
		}
		if st.DeviceURI != "" {
			noBrowser("device_uri", "device_uri")
		}
		if st.LogoutURI != "" {
			noBrowser("logout_uri", "logout_uri")
		}
		if st.BackchannelLogout {
			r.errorf(name, "", "backchannel_logout", "a client_credentials strategy has no sessions to log out")
		}
		for _, s := range st.Steps {
			switch s.Name {
			case StepToken, StepRevoke, "introspect":
			case StepRefresh:
				r.errorf(name, s.Name, "", "a client_credentials strategy gets a new token with its credentials, not a refresh token (RFC 6749 §4.4.3): omit the refresh step")
			default:
				r.errorf(name, s.Name, "", "a client_credentials strategy runs only its token step: there is no user to decode or look up; omit this step")
			}
		}
		tok := st.Step(StepToken)
		switch {
		case tok == nil:
			r.errorf(name, "", "steps", "missing: a client_credentials strategy needs a %q step, a POST to the token endpoint with grant_type=${grant_type}", StepToken)
		case tok.IsDecode():
			r.errorf(name, StepToken, "decode", "the token step of a client_credentials strategy calls the token endpoint (uri)")
		}
	case GrantDeviceCode:
		if st.DeviceURI == "" {
			r.errorf(name, "", "device_uri", "missing: with grant_type %q the strategy logs in through the device authorization endpoint", GrantDeviceCode)
		}
		if st.AuthURI != "" {
			r.errorf(name, "", "auth_uri", "with grant_type %q the strategy logs in through device_uri only: remove auth_uri, or keep the default grant_type for both kinds of login", GrantDeviceCode)
		}
	}
	if st.DeviceURI == "" || st.GrantType == GrantClientCredentials {
		return
	}
	tok := st.Step(StepToken)
	switch {
	case tok == nil || tok.IsDecode():
		r.errorf(name, "", "device_uri", "a device login polls the %q step: add one that POSTs a form to the token endpoint", StepToken)
	case tok.Form == nil || (tok.Method != "" && !strings.EqualFold(tok.Method, "POST")):
		r.errorf(name, StepToken, "form", "a device login polls this step with a form POST (device_code and grant_type): give it method POST and a form")
	default:
		if g, ok := tok.Form["grant_type"]; ok && g != "${grant_type}" && g != GrantDeviceCode {
			r.errorf(name, StepToken, "form.grant_type", "%q: a device login sends %q here; write \"${grant_type}\", which is that while it polls", g, GrantDeviceCode)
		}
	}
}

// explainGrant writes how the strategy logs in before its steps, and
// reports whether the browser login's plan follows.
func explainGrant(w io.Writer, sp *StrategyPlan, reads func(step string, names ...string) string, res *resolver) bool {
	st := sp.def
	switch {
	case st.GrantType == GrantClientCredentials:
		fmt.Fprintf(w, "  client credentials: no user, no browser login, not on the chooser; engine.Strategy.TokenSource and `authflow token` run:\n")
		if s := st.Step(StepToken); s != nil {
			fmt.Fprintf(w, "    token      %s\n", describeStep(st, *s, res))
			fmt.Fprintf(w, "               reads %s\n", reads(StepToken))
			var left []string
			for _, f := range sp.fields {
				for _, b := range f.refs {
					if f.step == StepToken && BrowserLoginValue(b) && !slices.Contains(left, f.name) {
						left = append(left, f.name)
					}
				}
			}
			if len(left) > 0 {
				fmt.Fprintf(w, "               left out, reading a browser login's values: %s\n", strings.Join(left, ", "))
			}
		}
		fmt.Fprintf(w, "  the token is kept until shortly before it expires, then fetched again\n")
		return false
	case st.AuthURI == "":
		fmt.Fprintf(w, "  no browser login (grant_type %s): not on the chooser\n", st.GrantType)
		return true
	}
	fmt.Fprintf(w, "  login: redirect to %s\n         reads %s\n", res.resolve(maskURI(st.AuthURI)), reads("", "auth_uri"))
	return true
}

// explainDevice writes the device login, when the strategy has one.
func explainDevice(w io.Writer, sp *StrategyPlan, reads func(step string, names ...string) string) {
	st := sp.def
	if st.DeviceURI == "" || st.GrantType == GrantClientCredentials {
		return
	}
	fmt.Fprintf(w, "  device login (`authflow login`): POST device_uri (client_id, scope), then poll the token step with grant_type %s and ${%s}\n", GrantDeviceCode, VarDeviceCode)
	fmt.Fprintf(w, "         reads %s\n", reads("", "device_uri"))
	fmt.Fprintf(w, "         the token step's form fields that read the browser login's values (${auth.*}, ${code_verifier}, ${redirect_uri}, ...) are left out\n")
	if sp.Discovery() {
		if ms := discoveryMembers(sp.fields, func(t *Template) bool { return t.step == "" && t.name == "device_uri" }); len(ms) > 0 {
			fmt.Fprintf(w, "         left out when the discovery document names no %s\n", strings.Join(ms, " or "))
		}
	}
}

// trimInherited drops from a client_credentials strategy what it inherits
// from its built-in for a user's login and the file does not set itself:
// auth_uri, logout_uri, device_uri, back-channel logout, and the login and
// refresh steps but the token step. {"extends": "oidc", "issuer": ...,
// "grant_type": "client_credentials"} is so a client of the same OpenID
// provider; its token step's form fields that read a browser login's
// values (${auth.code}, ...) are left out when it runs. It returns the
// merged definition without them, for explain (a copy: merged may share
// nodes with the catalogue).
func trimInherited(st *Strategy, user, merged *node) *node {
	if st.GrantType != GrantClientCredentials {
		return merged
	}
	own := func(k string) bool { return slices.Contains(st.Overridden, k) }
	if !own("auth_uri") {
		st.AuthURI = ""
	}
	if !own("logout_uri") {
		st.LogoutURI = ""
	}
	if !own("device_uri") {
		st.DeviceURI = ""
	}
	if !own("backchannel_logout") {
		st.BackchannelLogout = false
	}
	var named []string
	if steps := user.get("steps"); steps != nil && steps.kind == kindArray {
		for _, e := range steps.vals {
			if n := e.get("name"); n != nil {
				if s, ok := n.str(); ok {
					named = append(named, s)
				}
			}
		}
	}
	drop := func(name string) bool {
		return name != StepToken && name != StepRevoke && name != "introspect" && !slices.Contains(named, name)
	}
	st.Steps = slices.DeleteFunc(st.Steps, func(s Step) bool { return drop(s.Name) })

	out := &node{kind: kindObject}
	for i, k := range merged.keys {
		v := merged.vals[i]
		switch {
		case (k == "auth_uri" || k == "logout_uri" || k == "device_uri" || k == "backchannel_logout") && !own(k):
			continue
		case k == "steps" && v.kind == kindArray:
			steps := &node{kind: kindArray}
			for _, e := range v.vals {
				if n, ok := e.get("name").str(); !ok || !drop(n) {
					steps.vals = append(steps.vals, e)
				}
			}
			v = steps
		}
		out.set(k, v)
	}
	return out
}
