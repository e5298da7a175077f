package engine

import (
	"net/url"

	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// scope holds what a template may read at run time, by source. What a
// template may read, and how far each value is trusted, the plan decided
// (strategies' scope table, one Binding per placeholder); the scope only
// supplies values.
type scope struct {
	s       *Strategy
	login   *Login            // state, nonce, code_verifier; nil outside a login
	auth    url.Values        // the callback's query
	results map[string][]byte // step name -> JSON result
	tokens  Tokens            // the session's tokens (refresh, revoke, logout)
	// postLogout is ${post_logout_redirect_uri}.
	postLogout string
	// device is the device login being polled; nil for any other run.
	device *DeviceAuth
	// bearer is ${bearer_token}, for the introspect step.
	bearer string
}

// value returns the value of one placeholder and whether it has one.
func (sc *scope) value(b strategies.Binding) (string, bool) {
	switch b.Source {
	case strategies.FromVariable:
		if sc.device != nil && b.Root == "grant_type" {
			return strategies.GrantDeviceCode, true
		}
		if b.Root == "client_secret" && sc.s.signed != nil {
			v, err := sc.s.signed.get()
			return v, err == nil
		}
		return sc.s.fixedValue(b)
	case strategies.FromEnv, strategies.FromDiscovery:
		return sc.s.fixedValue(b)
	case strategies.FromEngine:
		switch b.Root {
		case strategies.VarRedirectURI:
			if sc.login != nil && sc.login.RedirectURI != "" {
				return sc.login.RedirectURI, true
			}
			return sc.s.redirectURI, true
		case strategies.VarPostLogoutRedirectURI:
			return sc.postLogout, sc.postLogout != ""
		}
	case strategies.FromLogin:
		if b.Root == strategies.VarDeviceCode {
			if sc.device == nil {
				return "", false
			}
			return sc.device.deviceCode, sc.device.deviceCode != ""
		}
		if sc.login == nil {
			return "", false
		}
		var v string
		switch b.Root {
		case strategies.VarState:
			v = sc.login.State
		case strategies.VarNonce:
			v = sc.login.Nonce
		case strategies.VarCodeVerifier:
			v = sc.login.CodeVerifier
		case strategies.VarCodeChallenge:
			v = sc.login.CodeChallenge()
		}
		return v, v != ""
	case strategies.FromLoginParam:
		if sc.login == nil {
			return "", false
		}
		return sc.login.Params[b.Path], true // "" when the request did not give it
	case strategies.FromCallback:
		vs := sc.auth[b.Path]
		if len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	case strategies.FromStep:
		doc, ok := sc.results[b.Root]
		if !ok {
			return "", false
		}
		if b.Path == "" {
			return string(doc), true
		}
		res := gjson.GetBytes(doc, b.Path)
		return res.String(), res.Exists()
	case strategies.FromSession:
		var v string
		switch b.Root {
		case strategies.VarAccessToken:
			v = sc.tokens.AccessToken
		case strategies.VarRefreshToken:
			v = sc.tokens.RefreshToken
		case strategies.VarIDToken:
			v = sc.tokens.IDToken
		}
		return v, v != ""
	case strategies.FromBearer:
		return sc.bearer, sc.bearer != ""
	}
	return "", false
}
