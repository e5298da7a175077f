package strategies

import (
	"fmt"
	"strings"
)

// checkTokenLeaks refuses a strategy whose user object or claims would hold
// tokens: /auth/session shows both to the browser (any script on the page),
// and the claims go upstream in X-Auth-* headers. A token answer becomes the
// user object when jwt_key names a step that asks a token endpoint, and a
// claim reads one when its path is rooted at such a step.
func checkTokenLeaks(r *reporter, st *Strategy, fields []*Template) {
	tokens := tokenSteps(st, fields)
	if user := st.UserStep(); tokens[user] != "" {
		const why = "its answer holds the access, ID and refresh tokens, and the user object is shown to the browser at /auth/session; make the user step one that decodes ${token.id_token} or calls the userinfo endpoint"
		switch {
		case user != st.JWTKey:
			r.errorf(st.Name, user, "", "the user step asks a token endpoint (%s): %s", tokens[user], why)
		case user == StepToken:
			r.errorf(st.Name, "", "jwt_key", "%q names the token step: %s", user, why)
		default:
			r.errorf(st.Name, "", "jwt_key", "%q names a step that asks a token endpoint (%s): %s", user, tokens[user], why)
		}
	}
	if why := tokens[StepUserinfo]; why != "" && st.UserStep() != StepUserinfo {
		r.errorf(st.Name, StepUserinfo, "uri", "this step asks a token endpoint (%s): its answer, tokens, would be merged into the user object, which is shown to the browser at /auth/session", why)
	}
	for _, claim := range sortedKeys(st.Claims) {
		path := st.Claims[claim]
		root, rest, ok := strings.Cut(path, ".")
		if !ok || tokens[root] == "" || (isPlainPath(rest) && !namesToken(rest)) {
			continue
		}
		what := "the token step's answer"
		if root != StepToken {
			what = fmt.Sprintf("the answer of step %q, which asks a token endpoint (%s),", root, tokens[root])
		}
		r.errorf(st.Name, "", "claims."+claim, "%q reads %s and may reach a token: claims are shown to the browser at /auth/session and sent upstream in X-Auth-* headers; from a token answer map only plain fields that hold no token (e.g. %q; no wildcards, modifiers or multipaths)",
			path, what, root+".scope")
	}
}

// tokenSteps returns the login steps whose answer holds tokens, each with
// the reason: the token step, and any step that asks a token endpoint again
// (it sends a grant_type, a refresh token or, in its body, the callback's
// code, or it calls the token or refresh step's URI).
func tokenSteps(st *Strategy, fields []*Template) map[string]string {
	out := map[string]string{}
	for _, s := range st.LoginSteps() {
		if why := tokenRequest(st, s, fields); why != "" {
			out[s.Name] = why
		}
	}
	return out
}

// tokenRequest says why step s asks a token endpoint ("it sends a
// grant_type"), or returns "" when it does not.
func tokenRequest(st *Strategy, s Step, fields []*Template) string {
	switch {
	case s.Name == StepToken:
		return "it is the code exchange"
	case s.IsDecode():
		return ""
	case s.Form["grant_type"] != "" || jsonMember(s.JSON, "grant_type"):
		return "it sends a grant_type"
	}
	for _, other := range []string{StepToken, StepRefresh} {
		if t := st.Step(other); t != nil && t.URI != "" && sameEndpoint(t.URI, s.URI) {
			return fmt.Sprintf("it calls the %s step's endpoint", other)
		}
	}
	for _, f := range fields {
		if f.step != s.Name || f.t == nil {
			continue
		}
		body := strings.HasPrefix(f.name, "form.") || strings.HasPrefix(f.name, "json.")
		for _, ref := range f.t.Refs() {
			// A code exchange posts the code in its body (RFC 6749 §4.1.3;
			// GitHub's needs no grant_type); a refresh token goes only to a
			// token endpoint.
			if (body && ref.Root == RootAuth && ref.Path == "code") || strings.HasSuffix(ref.Path, VarRefreshToken) {
				return fmt.Sprintf("it sends %s", ref)
			}
		}
	}
	return ""
}

// jsonMember reports whether a decoded JSON body is an object with member k.
func jsonMember(v any, k string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, has := m[k]
	return has
}

// sameEndpoint reports whether two URI templates name the same endpoint:
// equal up to the query, trailing slash aside.
func sameEndpoint(a, b string) bool {
	trim := func(u string) string {
		u, _, _ = strings.Cut(u, "?")
		return strings.TrimSuffix(u, "/")
	}
	return trim(a) == trim(b)
}

// isPlainPath reports whether a gjson path is plain member names and array
// indexes: no wildcards, modifiers, queries, multipaths or escapes that could
// select more than the member it names.
func isPlainPath(p string) bool {
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':') {
				return false
			}
		}
	}
	return true
}

// namesToken reports whether a plain path has a member named like a token
// or a secret (access_token, authed_user.access_token, client_secret).
func namesToken(p string) bool {
	p = strings.ToLower(p)
	return strings.Contains(p, "token") || strings.Contains(p, "secret")
}
