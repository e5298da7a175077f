package strategies

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/authflow/authflow/interp"
)

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

var knownKeys = []string{"auth_uri", "client_id", "client_secret", "base_uri", "redirect_path", "scope",
	"grant_type", "jwt_key", "label", "steps", "pkce", "nonce", "claims", "logout_uri", "backchannel_logout", "docs", "notes", KeyExtends,
	"client_key", "client_key_id", KeySignedSecret, KeyAllowedTenants, "client_assertion_audience",
	"response_mode", "refresh_userinfo", "login_params", "device_uri",
	"bearer", "required_scopes", "upstream_claims"}

// validate reports every problem of one merged strategy, binding each
// template's placeholders with the scope table on the way.
func (c *compiler) validate() {
	r, st := c.r, c.st
	name := st.Name
	for _, k := range sortedKeys(st.Custom) {
		if isReserved(k) {
			r.errorf(name, "", k, "%q is a value the engine provides; a custom variable may not take its name", k)
		}
	}
	if st.AuthURI == "" && browserGrant(st.GrantType) {
		r.errorf(name, "", "auth_uri", "missing: the URL to send the browser to for login")
	}
	if st.ClientID == "" {
		r.errorf(name, "", "client_id", "missing: the client id registered at the identity provider")
	}
	checkRedirectPath(r, st)
	for i, n := range st.Notes {
		if strings.TrimSpace(n) == "" {
			r.errorf(name, "", fmt.Sprintf("notes[%d]", i), "empty: a note is a sentence explain prints")
		}
	}
	if st.BaseURI != "" && !strings.Contains(st.BaseURI, "${") {
		if u, err := url.Parse(st.BaseURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.errorf(name, "", "base_uri", "must be an absolute http(s) URL, like https://app.example.com")
		}
	}
	if isLiteralSecret(st.ClientSecret) {
		r.warnf(name, "", "client_secret", "the secret is written in the file; read it from the environment with ${env.NAME}")
	}
	c.validateSteps()
	c.validateKey()
	c.validateTenants()
	c.validateGrant()
	checkTokenLeaks(r, st, c.fields)
	checkCodeBinding(r, st)
	checkLiteralSecrets(r, st, c.fields)

	sendsVerifier := false
	for _, f := range c.fields {
		if f.step == StepToken && f.t != nil {
			for _, ref := range f.t.Refs() {
				// A misspelt ${code_verifer} is an unknown variable already,
				// whose message suggests ${code_verifier}: no second warning.
				if ref.Raw == VarCodeVerifier || Suggest(ref.Root, []string{VarCodeVerifier}) == VarCodeVerifier {
					sendsVerifier = true
				}
			}
		}
	}
	if tok := st.Step(StepToken); st.AuthURI != "" && !st.InsecureNoPKCE && tok != nil && !tok.IsDecode() && !sendsVerifier && !hasUnknownField(r, name, StepToken) {
		r.warnf(name, StepToken, "form", "PKCE is on (the authorize redirect carries a code_challenge) but this step does not send ${%s}: the IdP will refuse the code, or PKCE protects nothing; add \"code_verifier\": \"${%s}\" or set \"pkce\": false", VarCodeVerifier, VarCodeVerifier)
	}
	c.resolveVariables()
	for _, f := range c.fields {
		if f.err != nil {
			r.errorf(name, f.step, f.name, "%v", strings.TrimPrefix(f.err.Error(), "interp: "))
			continue
		}
		if f.phase == PhaseVariable {
			if cycle := c.cycles[f.name]; cycle != "" {
				r.errorf(name, "", f.name, "variable cycle %s: a variable may not read itself, through others or directly", cycle)
			}
		}
		for _, ref := range f.t.Refs() {
			c.used[ref.Root] = true
			b, ok := c.bind(f, ref)
			if ok {
				f.refs = append(f.refs, b)
			} else {
				f.refs = append(f.refs, Binding{Ref: ref}) // never run: the file is refused
			}
		}
		if f.ctx == interp.URI {
			c.checkURI(f)
		}
	}
	c.reportEmpty()
	c.checkLoginParams()
	c.checkCallbackModes()
	c.validateBearer() // bearer.go
	for _, k := range sortedKeys(st.Custom) {
		if !c.used[k] {
			msg := "custom variable is never used"
			if s := Suggest(k, knownKeys); s != "" {
				msg += fmt.Sprintf(" (did you mean the key %q?)", s)
			}
			r.warnf(name, "", k, "%s", msg)
		}
	}
	for _, claim := range sortedKeys(st.Claims) {
		path := st.Claims[claim]
		if path == "" {
			r.errorf(name, "", "claims."+claim, "empty path")
			continue
		}
		root, _, _ := strings.Cut(path, ".")
		if root == StepRefresh || IsRevokeStep(root) {
			if st.Step(root) != nil {
				r.errorf(name, "", "claims."+claim, "the %q step does not run at login; claims read the user object and login steps", root)
			}
		}
		// A path rooted at a special step name reads that step's result; the
		// step must exist, or the claim would silently read nothing.
		if (root == StepToken || root == StepJWT || root == StepUserinfo) && st.Step(root) == nil {
			r.errorf(name, "", "claims."+claim, "%q: the strategy has no %q step", path, root)
		}
	}
	if st.BackchannelLogout {
		if j := st.Step(StepJWT); j == nil || !j.IsDecode() || j.InsecureSkipVerify {
			r.errorf(name, "", "backchannel_logout", "needs a verified decode step named %q: its keys, issuer and audience check the logout token", StepJWT)
		}
	}
}

func (c *compiler) validateSteps() {
	r, st := c.r, c.st
	name := st.Name
	seen := map[string]bool{}
	hasOpenID := slices.Contains(strings.Fields(st.Scope), "openid")
	for _, s := range st.Steps {
		if s.Name == "" {
			r.errorf(name, "", "steps", "a step has no name")
			continue
		}
		if seen[s.Name] {
			r.errorf(name, s.Name, "name", "two steps have this name")
		}
		seen[s.Name] = true
		if _, isVar := c.vars[s.Name]; isVar || isReserved(s.Name) {
			r.errorf(name, s.Name, "name", "a step may not take the name of a variable (${%s} would be ambiguous)", s.Name)
		}
		switch {
		case s.URI != "" && s.Decode != "":
			r.errorf(name, s.Name, "", "a step either calls a uri or decodes a JWT, not both")
		case s.URI == "" && s.Decode == "":
			r.errorf(name, s.Name, "", "a step needs a uri (HTTP step) or decode (JWT step)")
		case s.IsDecode():
			validateDecode(r, st, s, hasOpenID)
		default:
			m := strings.ToUpper(s.Method)
			if m == "" {
				m = "GET"
			}
			if !slices.Contains(httpMethods, m) {
				r.errorf(name, s.Name, "method", "%q is not one of %s", s.Method, strings.Join(httpMethods, ", "))
			}
			if s.Form != nil && s.JSON != nil {
				r.errorf(name, s.Name, "json", "a step sends form or json, not both")
			}
			if m == "GET" && (s.Form != nil || s.JSON != nil) {
				r.errorf(name, s.Name, "method", "a GET request has no body; use POST to send form or json")
			}
			if s.ClientAuth != "" {
				c.checkClientAuth(s, m)
			}
			for _, f := range []string{"jwks_uri", "issuer", "audience", "algorithms"} {
				if (f == "jwks_uri" && s.JWKSURI != "") || (f == "issuer" && s.Issuer != "") ||
					(f == "audience" && s.Audience != "") || (f == "algorithms" && s.Algorithms != nil) {
					r.errorf(name, s.Name, f, "only a decode step takes %s", f)
				}
			}
		}
		if s.Auth != nil && isLiteralSecret(s.Auth.Password) {
			r.warnf(name, s.Name, "config.auth.password", "the secret is written in the file; use ${client_secret} or ${env.NAME}")
		}
	}
	user := st.UserStep()
	found := false
	for _, s := range st.LoginSteps() {
		if s.Name == user {
			found = true
		}
	}
	switch {
	case st.GrantType == GrantClientCredentials:
		// no user: grants.go checks its token step
	case len(st.Steps) == 0 && st.AuthURI != "":
		r.errorf(name, "", "steps", "missing: after the callback a login runs its steps, and needs at least the user step %q, whose result is the user object (usually after a %q step that exchanges the code)", user, StepToken)
	case !found && len(st.Steps) > 0:
		r.errorf(name, "", "steps", "no login step is named %q: that step's result is the user object", user)
	}
}

func validateDecode(r *reporter, st *Strategy, s Step, hasOpenID bool) {
	name := st.Name
	if s.Method != "" || s.Form != nil || s.JSON != nil || s.Headers != nil || s.Auth != nil || s.ClientAuth != "" {
		r.errorf(name, s.Name, "decode", "a decode step takes no method, form, json, config or client_auth")
	}
	if s.InsecureSkipVerify {
		r.warnf(name, s.Name, "verify", "signature and claim checks are off: for debugging only, never in production")
	} else if s.Issuer == "" {
		r.errorf(name, s.Name, "issuer", "missing: a verified decode step checks iss (and, without jwks_uri, finds the keys through the issuer's discovery document)")
	}
	if s.Algorithms != nil && len(s.Algorithms) == 0 {
		r.errorf(name, s.Name, "algorithms", "empty: list the algorithms the IdP signs with, e.g. [\"RS256\"]")
	}
	for _, a := range s.Algorithms {
		if !slices.Contains(allowedAlgorithms, a) {
			r.errorf(name, s.Name, "algorithms", "%q is not allowed (only asymmetric algorithms: %s; never none or HMAC)", a, strings.Join(allowedAlgorithms, ", "))
		}
	}
	if !hasOpenID {
		r.warnf(name, s.Name, "decode", "the scope %q has no \"openid\": the IdP may send no ID token", st.Scope)
	}
}

// bind looks one placeholder up in the scope table for its template's
// phase and returns where its value comes from, or reports why the
// template may not read it. A variable that is empty (a catalogue value the
// user must set) is not reported here but recorded in c.empty, by name,
// with where it is used.
func (c *compiler) bind(f *Template, ref interp.Ref) (Binding, bool) {
	r, st := c.r, c.st
	name, root := st.Name, ref.Root
	b := Binding{Ref: ref}
	if root == RootEnv {
		if ref.Path == "" {
			r.errorf(name, f.step, f.name, "%s names no environment variable (write ${env.NAME})", ref)
			return b, false
		}
		b.Source, b.Origin = FromEnv, interp.Config
		return b, true
	}
	if v, ok := c.vars[root]; ok {
		if ref.Path != "" {
			r.errorf(name, f.step, f.name, "%s: variable %q is a string and has no fields", ref, root)
			return b, false
		}
		if v == "" && root != "base_uri" && !(root == "client_secret" && st.SignedSecret != nil) {
			c.empty[root] = append(c.empty[root], f.where())
		}
		b.Source, b.Origin = FromVariable, interp.Config
		return b, true
	}
	if root == RootDiscovery && f.phase != PhaseVariable {
		switch _, has := c.vars[VarIssuer]; {
		case ref.Path == "":
			r.errorf(name, f.step, f.name, "%s names no member of the discovery document (write ${discovery.token_endpoint})", ref)
			return b, false
		case !has:
			r.errorf(name, f.step, f.name, "%s: the strategy has no %q key: discovery reads ${%s}/.well-known/openid-configuration", ref, VarIssuer, VarIssuer)
			return b, false
		}
	}
	switch f.phase {
	case PhaseVariable:
		r.errorf(name, f.step, f.name, "%s: a variable may read only ${env.NAME} and other variables", ref)
		return b, false
	case PhaseFixed:
		if root != RootDiscovery {
			r.errorf(name, f.step, f.name, "%s: %s is fixed when the engine starts: it may read only variables, ${env.NAME} and ${discovery.NAME}", ref, f.name)
			return b, false
		}
	}
	if e := scopeOf(root); e != nil && slices.Contains(e.phases, f.phase) {
		switch {
		case root == VarNonce && !c.sendsNonce():
			r.errorf(name, f.step, f.name, "%s: no nonce is sent (it needs \"openid\" in the scope and \"nonce\" not false)", ref)
			return b, false
		case (root == VarCodeVerifier || root == VarCodeChallenge) && st.InsecureNoPKCE:
			r.errorf(name, f.step, f.name, "%s: PKCE is off (\"pkce\": false)", ref)
			return b, false
		case root == VarDeviceCode && st.DeviceURI == "":
			r.errorf(name, f.step, f.name, "%s: the strategy has no device_uri, so no device login", ref)
			return b, false
		case root == RootAuth && ref.Path == "":
			r.errorf(name, f.step, f.name, "%s names no callback parameter (write ${auth.code})", ref)
			return b, false
		case root == RootLoginParam && !hasKey(st.LoginParams, ref.Path):
			r.errorf(name, f.step, f.name, "%s names no parameter of login_params (declared: %s)", ref, strings.Join(sortedKeys(st.LoginParams), ", "))
			return b, false
		case !e.path && ref.Path != "":
			r.errorf(name, f.step, f.name, "%s: ${%s} is a string and has no fields", ref, root)
			return b, false
		}
		b.Source, b.Origin = e.source, e.origin
		return b, true
	}
	if s := st.Step(root); s != nil {
		if f.phase != PhaseLogin {
			r.errorf(name, f.step, f.name, "%s: step results are not kept after login; here only %s are available", ref, available(f.phase))
			return b, false
		}
		for i, ls := range st.LoginSteps() {
			if ls.Name == root {
				if i >= f.index {
					r.errorf(name, f.step, f.name, "%s: step %q does not run before this one", ref, root)
					return b, false
				}
				b.Source, b.Origin = FromStep, interp.Provider
				return b, true
			}
		}
		r.errorf(name, f.step, f.name, "%s: step %q does not run at login", ref, root)
		return b, false
	}
	if isReserved(root) {
		r.errorf(name, f.step, f.name, "%s is not available here; available: variables, ${env.NAME}, %s", ref, available(f.phase))
		return b, false
	}
	msg := fmt.Sprintf("unknown variable %s", ref)
	cands := append(sortedKeys(c.vars), reservedRoots()...)
	for _, s := range st.Steps {
		cands = append(cands, s.Name)
	}
	if s := Suggest(root, cands); s != "" {
		msg += fmt.Sprintf(" (did you mean ${%s}?)", s)
	}
	r.errorf(name, f.step, f.name, "%s", msg)
	return b, false
}

// checkURI checks a URI template: it must begin with an absolute http(s)
// URL; a value from the request or the IdP may not form its scheme, host or
// path; and it warns about plain-http endpoints and secrets in its query.
func (c *compiler) checkURI(f *Template) {
	r, st := c.r, c.st
	lit := f.src
	if strings.HasPrefix(lit, "http://") {
		if u, err := url.Parse(strings.SplitN(lit, "${", 2)[0]); err == nil && u.Host != "" && !isLoopback(u.Hostname()) {
			r.warnf(st.Name, f.step, f.name, "plain http to %s: tokens would cross the network unencrypted; use https", u.Host)
		}
	}
	for _, b := range f.refs {
		if b.InQuery && b.Raw == "client_secret" {
			r.warnf(st.Name, f.step, f.name, "the client secret is sent in a URI query, where logs and proxies keep it; send it in the form or config.auth")
			break
		}
	}
	for i, b := range f.refs {
		if b.Source != 0 && !b.InQuery && !b.Origin.Trusted() && !b.Segment && !hostLabelOK(f, i) {
			msg := "a value from the request or the identity provider may not form the scheme, host or path of a URI; put it in the query"
			if b.Source == FromLoginParam {
				msg = "a login parameter may form only one label of a URI's host, between literal text that fixes the scheme and the rest of the host (https://${login.shop}.myshopify.com/…, at least two labels after it), or go in the query"
			}
			r.errorf(st.Name, f.step, f.name, "%s: %s", b.Ref, msg)
		}
	}
	if err := f.CheckAbsolute(c.staticPrefix); err != nil {
		r.errorf(st.Name, f.step, f.name, "%v", err)
	}
}

// clientAuthMethods are the values client_auth takes.
var clientAuthMethods = []string{ClientAuthBasic, ClientAuthPost, ClientAuthNone, ClientAuthDiscovery, ClientAuthPrivateKeyJWT}

// checkClientAuth checks an HTTP step's client_auth: a known method, on a
// POST with a form the engine adds the client's credentials to, which
// neither the form nor config.auth sends already.
func (c *compiler) checkClientAuth(s Step, method string) {
	r, name := c.r, c.st.Name
	switch {
	case !slices.Contains(clientAuthMethods, s.ClientAuth):
		r.errorf(name, s.Name, "client_auth", "%q is not one of %s", s.ClientAuth, strings.Join(clientAuthMethods, ", "))
	case s.ClientAuth == ClientAuthPrivateKeyJWT && c.st.ClientKey == "":
		r.errorf(name, s.Name, "client_auth", "%q signs a client assertion with the strategy's client_key, and it has none (\"client_key\": \"${env.NAME}\", a PEM private key)", s.ClientAuth)
	case s.ClientAuth == ClientAuthDiscovery && !c.hasVar(VarIssuer):
		r.errorf(name, s.Name, "client_auth", "%q follows the discovery document, and the strategy has no %q key to read it from", s.ClientAuth, VarIssuer)
	case method != "POST" || s.Form == nil:
		r.errorf(name, s.Name, "client_auth", "needs a POST with a form: the engine adds the client's credentials to it")
	case s.Auth != nil:
		r.errorf(name, s.Name, "client_auth", "config.auth authenticates the client too: keep one of them")
	}
	for _, k := range []string{"client_id", "client_secret", "client_assertion", "client_assertion_type"} {
		if _, ok := s.Form[k]; ok {
			r.errorf(name, s.Name, "form."+k, "client_auth sends the client's credentials: remove %s from the form", k)
		}
	}
}

// hasKey reports whether m has the key k.
func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// hasVar reports whether the strategy has a variable of that name.
func (c *compiler) hasVar(name string) bool {
	_, ok := c.vars[name]
	return ok
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLiteralSecret reports whether a secret value is written out rather than
// read from a placeholder.
func isLiteralSecret(v string) bool { return v != "" && !strings.Contains(v, "${") }

// WalkJSONStrings calls fn for every string leaf of a decoded JSON value,
// with its dotted path under prefix.
func WalkJSONStrings(v any, prefix string, fn func(path, s string)) {
	switch x := v.(type) {
	case string:
		fn(prefix, x)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			WalkJSONStrings(x[k], prefix+"."+k, fn)
		}
	case []any:
		for i, e := range x {
			WalkJSONStrings(e, fmt.Sprintf("%s.%d", prefix, i), fn)
		}
	}
}

// Suggest returns the candidate closest to s within an edit distance of
// 2, or "": the "did you mean" of authflow's messages.
func Suggest(s string, cands []string) string {
	best, bestD := "", 3
	for _, c := range cands {
		if c == s {
			continue
		}
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// reportEmpty reports each empty variable that templates read once, with
// the fields that read it: the catalogue leaves client_id, tenant and the
// like empty for the user to set.
func (c *compiler) reportEmpty() {
	st := c.st
	for _, root := range sortedKeys(c.empty) {
		if root == "client_id" && st.ClientID == "" {
			continue // reported as missing already
		}
		where := slices.Compact(c.empty[root])
		msg := fmt.Sprintf("missing: set %q in the strategy; it is used by %s", root, where[0])
		if len(where) > 1 {
			msg += fmt.Sprintf(" and %d more", len(where)-1)
		}
		c.r.errorf(st.Name, "", root, "%s", msg)
	}
}

// checkCodeBinding warns when nothing binds the authorization code to the
// browser that started the login: without PKCE and without a nonce checked
// in the ID token, a victim's leaked code sent to the attacker's own
// callback signs the attacker in as the victim (authorization code
// injection, RFC 9700 §4.5).
func checkCodeBinding(r *reporter, st *Strategy) {
	if !st.InsecureNoPKCE || st.AuthURI == "" || st.GrantType != "authorization_code" {
		return
	}
	noNonce := `"nonce": false`
	if !st.InsecureNoNonce {
		noNonce = `no "openid" in the scope, so no nonce`
		if slices.Contains(strings.Fields(st.Scope), "openid") {
			// The engine checks the nonce in the ID token the user step
			// decodes; a user step that is an API call checks none.
			if u := st.Step(st.UserStep()); u != nil && u.IsDecode() {
				return
			}
			noNonce = fmt.Sprintf(`"openid" in the scope but a user step (%q) that decodes no ID token, so the nonce is checked nowhere`, st.UserStep())
		}
	}
	r.warnf(st.Name, "", "pkce", "authorization code injection: with \"pkce\": false and %s, nothing binds the code to the browser that started the login; "+
		"an attacker who obtains a victim's code (a leaked callback URL, log or Referer) can send it to their own callback and is signed in as the victim (RFC 9700 §4.5). "+
		"Fix: remove \"pkce\": false (PKCE S256), or send and check a nonce (\"openid\" in the scope, \"nonce\" not false) — whichever the identity provider supports", noNonce)
}
