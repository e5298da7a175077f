package strategies

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/authflow/authflow/interp"
)

// Literal secrets are found by position, not by name: every literal in a
// header, a body (form or json), config.auth, a custom variable or a URI's
// query may be a credential (X-Api-Key, Private-Token, client_assertion,
// ?api_key=...), whatever it is called. A literal is shown only when it is
// plainly public: an id, a scope or grant type and the like (by name), a URL
// or host name (by shape), or a custom variable that forms an endpoint's
// scheme and host, the issuer, or the authorize URL the browser sees anyway
// (by use). ${...}
// references are always shown: they name where a value comes from, not the
// value.

// publicNames are parameter, field, header and variable names whose literal
// values are public (lower-case).
var publicNames = map[string]bool{
	"client_id": true, "username": true, "scope": true, "grant_type": true, "response_type": true,
	"response_mode": true, "redirect_uri": true, "post_logout_redirect_uri": true, "token_type_hint": true,
	"code_challenge_method": true, "prompt": true, "access_type": true, "include_granted_scopes": true,
	"audience": true, "resource": true, "state": true, "nonce": true, "login_hint": true, "hd": true,
	"domain_hint": true, "display": true, "max_age": true, "ui_locales": true, "acr_values": true,
	"format": true, "alt": true, "fields": true, "v": true, "version": true, "api-version": true,
	"locale": true, "lang": true, "label": true, "region": true, "tenant": true, "domain": true,
	"realm": true, "host": true, "issuer": true, "logout_uri": true, "returnto": true,
	// Headers that carry no credentials.
	"accept": true, "accept-encoding": true, "accept-language": true, "content-type": true,
	"user-agent": true, "cache-control": true, "x-requested-with": true, "prefer": true,
}

// publicSuffixes mark names of public values: team_id, device_uri,
// X-GitHub-Api-Version,
// client_assertion_type, code_challenge_method.
var publicSuffixes = []string{"_id", "-id", "_uri", "_url", "_version", "-version", "_domain", "_region", "_tenant", "_host",
	"_type", "_method", "_mode"}

// hostName matches a lower-case DNS name with at least two labels.
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}$`)

// urn matches a registered protocol name such as
// urn:ietf:params:oauth:client-assertion-type:jwt-bearer.
var urn = regexp.MustCompile(`^urn:[a-z0-9][a-z0-9-]*(:[a-z0-9._-]+)+$`)

// isSecretName reports whether a key names a secret; such a literal is never
// shown, even where its shape looks public.
func isSecretName(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "secret") || strings.Contains(k, "password") || k == "authorization" || strings.HasSuffix(k, "_key") && k != "jwt_key"
}

// isPublicName reports whether literal values under that name are public.
func isPublicName(k string) bool {
	k = strings.ToLower(k)
	if publicNames[k] {
		return true
	}
	if isSecretName(k) {
		return false
	}
	// A JSON:API sparse fieldset, fields[TYPE] (Patreon's
	// ?fields[user]=email,full_name), names fields as "fields" does.
	if base, _, ok := strings.Cut(k, "["); ok && base == "fields" && strings.HasSuffix(k, "]") {
		return true
	}
	for _, s := range publicSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// publicLiteral reports whether a literal value (no ${...}) under key is
// plainly public.
func publicLiteral(key, v string) bool {
	switch {
	case v == "" || isPublicName(key):
		return true
	case isSecretName(key):
		return false
	case hostName.MatchString(v) || urn.MatchString(v):
		return true
	case isURI(v):
		return len(uriSecrets(v)) == 0
	}
	return false
}

// isURI reports whether a value (a template or not) is written as a URI: an
// http(s) URL, or a placeholder followed by a path or query
// ("${okta_uri}/v1/token").
func isURI(v string) bool {
	if strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
		return true
	}
	if !strings.HasPrefix(v, "${") {
		return false
	}
	_, rest, ok := strings.Cut(v, "}")
	return ok && (rest == "" || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "?") || strings.HasPrefix(rest, "${"))
}

// uriSecrets returns what in a URI template is a literal secret: a password
// in its userinfo ("userinfo") and the names of query parameters whose
// literal values are not public.
func uriSecrets(u string) []string {
	var out []string
	if _, _, pass := userinfoPassword(u); pass != "" && !strings.Contains(pass, "${") {
		out = append(out, "userinfo")
	}
	_, query, _ := splitQuery(u)
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if name, err := url.QueryUnescape(k); err == nil {
			k = name
		}
		if v != "" && !strings.Contains(v, "${") && !publicLiteral(k, v) {
			out = append(out, k)
		}
	}
	return out
}

// splitQuery splits a URI template into what precedes its query, the query,
// and the fragment (with its '#').
func splitQuery(u string) (head, query, frag string) {
	if i := strings.Index(u, "#"); i >= 0 {
		u, frag = u[:i], u[i:]
	}
	head, query, _ = strings.Cut(u, "?")
	return head, query, frag
}

// userinfoPassword finds a password in a URI's authority (scheme://user:PASS@host)
// and returns the text around it.
func userinfoPassword(u string) (before, after, pass string) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", "", ""
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return "", "", ""
	}
	colon := strings.Index(authority[:at], ":")
	if colon < 0 {
		return "", "", ""
	}
	return scheme + "://" + authority[:colon+1], rest[at:], authority[colon+1 : at]
}

// maskURI returns a URI template with its literal secrets masked: the
// password of its userinfo and the values of query parameters that are not
// public.
func maskURI(u string) string {
	secrets := uriSecrets(u)
	if len(secrets) == 0 {
		return u
	}
	if before, after, _ := userinfoPassword(u); slices.Contains(secrets, "userinfo") {
		u = before + Mask + after
	}
	head, query, frag := splitQuery(u)
	if query == "" {
		return u
	}
	parts := strings.Split(query, "&")
	for i, kv := range parts {
		k, _, _ := strings.Cut(kv, "=")
		name := k
		if n, err := url.QueryUnescape(k); err == nil {
			name = n
		}
		if slices.Contains(secrets, name) {
			parts[i] = k + "=" + Mask
		}
	}
	return head + "?" + strings.Join(parts, "&") + frag
}

// segment is a piece of a template: literal text or a ${...} placeholder.
type segment struct {
	text string
	ref  bool
}

// segments splits a template into literal text and placeholders.
func segments(src string) []segment {
	var out []segment
	for {
		i := strings.Index(src, "${")
		if i < 0 {
			break
		}
		j := strings.Index(src[i:], "}")
		if j < 0 {
			break
		}
		if i > 0 {
			out = append(out, segment{text: src[:i]})
		}
		out = append(out, segment{text: src[i : i+j+1], ref: true})
		src = src[i+j+1:]
	}
	if src != "" {
		out = append(out, segment{text: src})
	}
	return out
}

// authSchemes are the words that may precede a placeholder in a header
// ("Bearer ${token.access_token}").
var authSchemes = []string{"bearer", "basic", "token", "bot", "digest", "oauth", "dpop"}

// isGlue reports whether literal text between placeholders is punctuation,
// white space or an authentication scheme, not a value.
func isGlue(s string) bool {
	word := strings.TrimFunc(s, func(r rune) bool { return strings.ContainsRune(" \t:;,=-_/.|+", r) })
	return word == "" || slices.Contains(authSchemes, strings.ToLower(word))
}

// secretValue reports whether a value in a value position (a header, a form
// or json member, config.auth, a custom variable) holds a literal secret.
func secretValue(key, v string) bool {
	if isURI(v) {
		return len(uriSecrets(v)) > 0
	}
	segs := segments(v)
	if len(segs) == 1 && !segs[0].ref {
		return !publicLiteral(key, v)
	}
	for _, s := range segs {
		if !s.ref && !isGlue(s.text) && !publicLiteral(key, s.text) {
			return true
		}
	}
	return false
}

// maskValue returns a value of a value position with its literal secrets
// masked; placeholders stay.
func maskValue(key, v string) string {
	if isURI(v) {
		return maskURI(v)
	}
	if !secretValue(key, v) {
		return v
	}
	var b strings.Builder
	for _, s := range segments(v) {
		if s.ref || isGlue(s.text) {
			b.WriteString(s.text)
		} else if !strings.HasSuffix(b.String(), Mask) {
			b.WriteString(Mask)
		}
	}
	return b.String()
}

// masker masks one strategy's literal secrets.
type masker struct {
	st *Strategy
	// shown holds the custom variables whose values are public by use:
	// they form the authorize or logout URL the browser sees, an
	// endpoint's server (scheme and host), or the issuer or audience.
	shown map[string]bool
	// used holds the custom variables that some template reads.
	used map[string]bool
}

func newMasker(st *Strategy, fields []*Template) *masker {
	m := &masker{st: st, shown: map[string]bool{}, used: map[string]bool{}}
	visible, base := map[string]bool{}, map[string]bool{}
	for _, f := range fields {
		if f.phase == PhaseVariable {
			continue
		}
		mark(m.used, refRoots(f.src))
		switch {
		case f.name == "auth_uri" || f.name == "logout_uri" || f.name == "issuer" || f.name == "audience":
			mark(visible, refRoots(f.src))
		case f.ctx == interp.URI:
			mark(base, refRoots(uriBase(f.src)))
		}
	}
	// Through variables that read variables: all of a used or visible
	// variable's placeholders are used or visible; of a variable that forms
	// a server's base, the placeholders of its own base.
	for changed := true; changed; {
		changed = false
		for name, v := range st.Custom {
			inBase := refRoots(v)
			if isURI(v) {
				inBase = refRoots(uriBase(v))
			}
			changed = (m.used[name] && mark(m.used, refRoots(v))) || changed
			changed = (visible[name] && mark(visible, refRoots(v))) || changed
			changed = (base[name] && mark(base, inBase)) || changed
		}
	}
	for name := range st.Custom {
		m.shown[name] = visible[name] || base[name]
	}
	return m
}

// mark adds names to set and reports whether any was new.
func mark(set map[string]bool, names []string) bool {
	added := false
	for _, n := range names {
		if !set[n] {
			set[n], added = true, true
		}
	}
	return added
}

// uriBase returns the part of a URI template that names the server: its
// scheme and authority ("https://${domain}"), or its leading placeholder
// ("${okta_uri}"). A path may hold a secret (api.telegram.org/bot${token}),
// so it is not part of the base.
func uriBase(u string) string {
	if strings.HasPrefix(u, "${") {
		if i := strings.Index(u, "}"); i >= 0 {
			return u[:i+1]
		}
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + rest
}

// refRoots returns the roots of a template's placeholders.
func refRoots(src string) []string {
	var out []string
	for _, s := range segments(src) {
		if s.ref {
			raw := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s.text, "${"), "}"), interp.SegmentPrefix)
			root, _, _ := strings.Cut(raw, ".")
			out = append(out, root)
		}
	}
	return out
}

// variable returns a custom variable's value for display.
func (m *masker) variable(name, v string) string {
	if isURI(v) || m.shown[name] {
		return maskURI(v)
	}
	return maskValue(name, v)
}

// secretVariable reports whether a custom variable holds a literal secret
// outside a URI.
func (m *masker) secretVariable(name, v string) bool {
	return !isURI(v) && !m.shown[name] && secretValue(name, v)
}

// strategyKey masks one key of the merged definition.
func (m *masker) strategyKey(k string, v *node) *node {
	s, isString := v.str()
	_, custom := m.st.Custom[k]
	switch {
	case k == "steps":
		if !isStepList(v) {
			return v
		}
		steps := &node{kind: kindArray}
		for _, st := range v.vals {
			steps.vals = append(steps.vals, m.step(st.clone()))
		}
		return steps
	case !isString:
		return v
	case k == "client_secret" || k == "client_key":
		s = maskValue(k, s)
	case k == "auth_uri" || k == "logout_uri" || k == "base_uri":
		s = maskURI(s)
	case custom:
		s = m.variable(k, s)
	default: // label, scope, grant_type, jwt_key, redirect_path
		return v
	}
	return stringNode(s)
}

// stepFieldsShown are step fields that hold no value to mask.
var stepFieldsShown = []string{"name", "method", "algorithms", "verify", "error_path", "omit", "client_auth"}

// step masks the literal secrets of one step, at any depth.
func (m *masker) step(o *node) *node {
	for i, k := range o.keys {
		v := o.vals[i]
		switch {
		case slices.Contains(stepFieldsShown, k):
		case k == "uri" || k == "jwks_uri":
			o.vals[i] = mapString(v, maskURI)
		case k == "form":
			o.vals[i] = maskMembers(v)
		case k == "json":
			o.vals[i] = maskJSON(v, "")
		case k == "config":
			if v.kind == kindObject {
				c := v.clone()
				for j := range c.vals {
					c.vals[j] = maskMembers(c.vals[j])
				}
				o.vals[i] = c
			}
		default: // decode, issuer, audience, and any field added later
			o.vals[i] = mapString(v, func(s string) string { return maskValue(k, s) })
		}
	}
	return o
}

// mapString applies f to a JSON string; other values stay.
func mapString(v *node, f func(string) string) *node {
	s, ok := v.str()
	if !ok {
		return v
	}
	return stringNode(f(s))
}

// maskMembers masks an object of string members by name (form, headers,
// config.auth).
func maskMembers(v *node) *node {
	if v.kind != kindObject {
		return v
	}
	o := v.clone()
	for i, k := range o.keys {
		o.vals[i] = mapString(o.vals[i], func(s string) string { return maskValue(k, s) })
	}
	return o
}

// maskJSON masks the string leaves of a JSON body, each by its member name
// (an array's elements by the array's).
func maskJSON(v *node, key string) *node {
	switch v.kind {
	case kindObject, kindArray:
		o := v.clone()
		for i := range o.vals {
			k := key
			if o.kind == kindObject {
				k = o.keys[i]
			}
			o.vals[i] = maskJSON(o.vals[i], k)
		}
		return o
	}
	return mapString(v, func(s string) string { return maskValue(key, s) })
}

// checkLiteralSecrets warns about literal secrets in the positions that
// carry credentials. The client secret and config.auth.password have their
// own warnings; config.auth.username is the client id.
func checkLiteralSecrets(r *reporter, st *Strategy, fields []*Template) {
	const use = "looks like a literal secret; use ${env.NAME} (or a variable that reads it) so that the file holds no secret"
	m := newMasker(st, fields)
	for _, k := range sortedKeys(st.Custom) {
		v := st.Custom[k]
		if !m.used[k] {
			continue // reported as never used; explain masks it
		}
		if m.secretVariable(k, v) {
			r.warnf(st.Name, "", k, "the value %s", use)
		}
		if isURI(v) {
			warnURI(r, st.Name, "", k, v)
		}
	}
	warnURI(r, st.Name, "", "auth_uri", st.AuthURI)
	warnURI(r, st.Name, "", "logout_uri", st.LogoutURI)
	warnURI(r, st.Name, "", "base_uri", st.BaseURI)
	for _, s := range st.Steps {
		warnURI(r, st.Name, s.Name, "uri", s.URI)
		warnURI(r, st.Name, s.Name, "jwks_uri", s.JWKSURI)
		for _, k := range sortedKeys(s.Headers) {
			warnValue(r, st.Name, s.Name, "config.headers."+k, k, s.Headers[k], use)
		}
		for _, k := range sortedKeys(s.Form) {
			warnValue(r, st.Name, s.Name, "form."+k, k, s.Form[k], use)
		}
		WalkJSONStrings(s.JSON, "json", func(path, v string) {
			warnValue(r, st.Name, s.Name, path, jsonKey(path), v, use)
		})
	}
}

func warnValue(r *reporter, strategy, step, field, key, v, use string) {
	if isURI(v) {
		warnURI(r, strategy, step, field, v)
	} else if secretValue(key, v) {
		r.warnf(strategy, step, field, "the value %s", use)
	}
}

func warnURI(r *reporter, strategy, step, field, u string) {
	for _, p := range uriSecrets(u) {
		what := "query parameter " + strconv.Quote(p)
		if p == "userinfo" {
			what = "the password in the URI"
		}
		r.warnf(strategy, step, field, "%s looks like a literal secret; use ${env.NAME}, and prefer a header or the body: URIs end up in logs", what)
	}
}

// jsonKey returns the member name of a WalkJSONStrings path: its last
// segment that is not an array index.
func jsonKey(path string) string {
	segs := strings.Split(path, ".")
	for i := len(segs) - 1; i > 0; i-- {
		if strings.Trim(segs[i], "0123456789") != "" {
			return segs[i]
		}
	}
	return ""
}
