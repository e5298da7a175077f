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
	// bearer is ${bearer_token}, for the introspect step.
	bearer string
}

// value returns the value of one placeholder and whether it has one.
func (sc *scope) value(b strategies.Binding) (string, bool) {
	switch b.Source {
	case strategies.FromVariable, strategies.FromEnv, strategies.FromDiscovery:
		return sc.s.fixedValue(b)
	case strategies.FromEngine:
		switch b.Root {
		case strategies.VarRedirectURI:
			return sc.s.redirectURI, true
		case strategies.VarPostLogoutRedirectURI:
			return sc.postLogout, sc.postLogout != ""
		}
	case strategies.FromLogin:
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
