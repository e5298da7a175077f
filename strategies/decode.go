package strategies

import (
	"sort"
	"strconv"
	"strings"
)

// decodeStrategy turns a merged strategy into a Strategy, reporting keys of
// the wrong type.
func decodeStrategy(r *reporter, name string, o *node) *Strategy {
	st := &Strategy{Name: name, Custom: map[string]string{}}
	strs := map[string]*string{
		"label": &st.Label, "auth_uri": &st.AuthURI, "client_id": &st.ClientID, "client_secret": &st.ClientSecret,
		"base_uri": &st.BaseURI, "redirect_path": &st.RedirectPath, "scope": &st.Scope, "grant_type": &st.GrantType,
		"jwt_key": &st.JWTKey, "logout_uri": &st.LogoutURI, "docs": &st.Docs,
		"client_key": &st.ClientKey, "client_key_id": &st.ClientKeyID,
		KeyAllowedTenants: &st.AllowedTenants, "client_assertion_audience": &st.ClientAssertionAudience,
		"response_mode": &st.ResponseMode, "device_uri": &st.DeviceURI,
	}
	// The file says what is on ("pkce": true); the model says what is off.
	var pkce, nonce = true, true
	bools := map[string]*bool{"pkce": &pkce, "nonce": &nonce, "backchannel_logout": &st.BackchannelLogout,
		"refresh_userinfo": &st.RefreshUserinfo}
	for i, k := range o.keys {
		v := o.vals[i]
		if v.kind == kindNull {
			r.errorf(name, "", k, "null is not a value: remove the key to keep the default")
			continue
		}
		switch {
		case strs[k] != nil:
			decodeString(r, name, "", k, v, strs[k])
		case bools[k] != nil:
			decodeBool(r, name, "", k, v, bools[k])
		case k == "claims":
			st.Claims = decodeStringMap(r, name, "", k, v)
		case k == "login_params":
			st.LoginParams = decodeStringMap(r, name, "", k, v)
		case k == "notes":
			st.Notes = decodeStringList(r, name, "", k, v)
		case k == "steps":
			st.Steps = decodeSteps(r, name, v)
		case k == KeySignedSecret:
			st.SignedSecret = decodeSignedSecret(r, name, v)
		case bearerKeys[k]:
			decodeBearerKey(r, name, k, v, st) // bearer.go
		case k == KeyExtends:
			// checked and applied by the loader before the merge (baseOf)
		default:
			s, ok := v.str()
			if !ok {
				r.errorf(name, "", k, "a custom variable must be a string, not %s", v.kindName())
				continue
			}
			st.Custom[k] = s
		}
	}
	st.InsecureNoPKCE, st.InsecureNoNonce = !pkce, !nonce
	return st
}

func decodeSteps(r *reporter, strategy string, v *node) []Step {
	if v.kind != kindArray {
		r.errorf(strategy, "", "steps", "must be an array of steps, not %s", v.kindName())
		return nil
	}
	steps := make([]Step, 0, len(v.vals))
	for i, e := range v.vals {
		switch {
		case e.kind != kindObject:
			r.errorf(strategy, "", "steps", "step %d: must be a JSON object", i+1)
			continue
		case e.dup != "":
			r.errorf(strategy, "", "steps", "step %d: key %q appears twice", i+1, e.dup)
			continue
		}
		steps = append(steps, decodeStep(r, strategy, i, e))
	}
	return steps
}

func decodeStep(r *reporter, strategy string, i int, o *node) Step {
	var st Step
	if v := o.get("name"); v != nil {
		decodeString(r, strategy, "", "steps", v, &st.Name)
	}
	label := st.Name
	if label == "" {
		label = "#" + strconv.Itoa(i+1)
	}
	strs := map[string]*string{
		"name": &st.Name, "uri": &st.URI, "method": &st.Method, "decode": &st.Decode,
		"jwks_uri": &st.JWKSURI, "issuer": &st.Issuer, "audience": &st.Audience, "error_path": &st.ErrorPath,
		"client_auth": &st.ClientAuth,
	}
	verify := true
	for j, k := range o.keys {
		v := o.vals[j]
		if v.kind == kindNull {
			r.errorf(strategy, label, k, "null is not a value: remove the key to keep the default")
			continue
		}
		switch {
		case strs[k] != nil:
			decodeString(r, strategy, label, k, v, strs[k])
		case k == "verify":
			decodeBool(r, strategy, label, k, v, &verify)
		case k == "algorithms":
			st.Algorithms = decodeStringList(r, strategy, label, k, v)
		case k == "form":
			st.Form = decodeStringMap(r, strategy, label, k, v)
		case k == "json":
			if dup := findDup(v); dup != "" {
				r.errorf(strategy, label, k, "key %q appears twice", dup)
			}
			st.JSON = v.value()
		case k == "config":
			decodeConfig(r, strategy, label, v, &st)
		case k == StepOmit:
			// The merge drops an omitted step it inherits; one left here has
			// nothing to drop.
			r.errorf(strategy, label, k, "only a step inherited from a built-in can be omitted, and this strategy extends none (see \"extends\")")
		default:
			known := "name, uri, method, config, form, json, client_auth, decode, jwks_uri, issuer, audience, algorithms, verify, omit"
			r.errorf(strategy, label, k, "unknown step field%s (known: %s)", didYouMean(k, strings.Split(known, ", ")), known)
		}
	}
	st.InsecureSkipVerify = !verify
	if v := o.get("error_path"); v != nil && v.kind == kindString {
		checkErrorPath(r, strategy, label, st)
	}
	return st
}

// findDup returns a key some object in the tree names twice, or "".
func findDup(n *node) string {
	if n.dup != "" {
		return n.dup
	}
	for _, v := range n.vals {
		if d := findDup(v); d != "" {
			return d
		}
	}
	return ""
}

// checkErrorPath reports an error_path that cannot work: empty, a template
// (it is a gjson path into the answer, read as written), or on a decode
// step, which has no answer.
func checkErrorPath(r *reporter, strategy, step string, st Step) {
	switch {
	case st.IsDecode():
		r.errorf(strategy, step, "error_path", "only an HTTP step takes error_path")
	case st.ErrorPath == "":
		r.errorf(strategy, step, "error_path", "empty: give a gjson path into the answer, e.g. \"errcode\", or remove the key")
	case strings.Contains(st.ErrorPath, "${"):
		r.errorf(strategy, step, "error_path", "%q: a gjson path into the answer, not a template", st.ErrorPath)
	}
}

func decodeConfig(r *reporter, strategy, step string, v *node, st *Step) {
	if v.kind != kindObject {
		r.errorf(strategy, step, "config", "must be an object, not %s", v.kindName())
		return
	}
	if v.dup != "" {
		r.errorf(strategy, step, "config", "key %q appears twice", v.dup)
	}
	for i, k := range v.keys {
		switch k {
		case "headers":
			st.Headers = decodeStringMap(r, strategy, step, "config.headers", v.vals[i])
		case "auth":
			m := decodeStringMap(r, strategy, step, "config.auth", v.vals[i])
			for _, mk := range sortedKeys(m) {
				if mk != "username" && mk != "password" {
					r.errorf(strategy, step, "config.auth."+mk, "unknown field (config.auth takes username and password)")
				}
			}
			if m != nil {
				st.Auth = &BasicAuth{Username: m["username"], Password: m["password"]}
			}
		default:
			r.errorf(strategy, step, "config."+k, "unknown field (config takes headers and auth)")
		}
	}
}

func decodeString(r *reporter, strategy, step, field string, v *node, dst *string) {
	s, ok := v.str()
	if !ok {
		r.errorf(strategy, step, field, "must be a string, not %s", v.kindName())
		return
	}
	*dst = s
}

func decodeBool(r *reporter, strategy, step, field string, v *node, dst *bool) {
	switch v.kind {
	case kindTrue:
		*dst = true
	case kindFalse:
		*dst = false
	default:
		r.errorf(strategy, step, field, "must be true or false, not %s", v.kindName())
	}
}

func decodeStringList(r *reporter, strategy, step, field string, v *node) []string {
	if v.kind != kindArray {
		r.errorf(strategy, step, field, "must be an array of strings, not %s", v.kindName())
		return nil
	}
	out := make([]string, 0, len(v.vals))
	for _, e := range v.vals {
		s, ok := e.str()
		if !ok {
			r.errorf(strategy, step, field, "must be an array of strings, not %s", v.kindName())
			return nil
		}
		out = append(out, s)
	}
	return out
}

// decodeStringMap decodes an object whose values are all strings.
func decodeStringMap(r *reporter, strategy, step, field string, v *node) map[string]string {
	if v.kind != kindObject {
		r.errorf(strategy, step, field, "must be an object of strings, not %s", v.kindName())
		return nil
	}
	if v.dup != "" {
		r.errorf(strategy, step, field, "key %q appears twice", v.dup)
	}
	m := make(map[string]string, len(v.keys))
	for i, k := range v.keys {
		s, ok := v.vals[i].str()
		if !ok {
			r.errorf(strategy, step, field+"."+k, "must be a string, not %s", v.vals[i].kindName())
			continue
		}
		m[k] = s
	}
	return m
}

// encodeStrategy writes a Strategy built in Go as the strategy file would
// hold it, so that it goes through the same decoding and checks as a file.
// Empty fields are left out (they keep their defaults).
func encodeStrategy(st *Strategy) *node {
	o := &node{kind: kindObject}
	str := func(k, v string) {
		if v != "" {
			o.set(k, stringNode(v))
		}
	}
	str("label", st.Label)
	str("auth_uri", st.AuthURI)
	str("client_id", st.ClientID)
	str("client_secret", st.ClientSecret)
	str("base_uri", st.BaseURI)
	str("redirect_path", st.RedirectPath)
	str("scope", st.Scope)
	str("grant_type", st.GrantType)
	str("jwt_key", st.JWTKey)
	str("logout_uri", st.LogoutURI)
	str("docs", st.Docs)
	if st.Notes != nil {
		o.set("notes", nodeOf(st.Notes))
	}
	str("client_key", st.ClientKey)
	str("client_key_id", st.ClientKeyID)
	str(KeyAllowedTenants, st.AllowedTenants)
	str("client_assertion_audience", st.ClientAssertionAudience)
	if ss := st.SignedSecret; ss != nil {
		m := map[string]string{}
		for k, v := range map[string]string{"iss": ss.Issuer, "sub": ss.Subject, "aud": ss.Audience, "lifetime": ss.Lifetime} {
			if v != "" {
				m[k] = v
			}
		}
		o.set(KeySignedSecret, nodeOf(m))
	}
	str("response_mode", st.ResponseMode)
	str("device_uri", st.DeviceURI)
	if st.InsecureNoPKCE {
		o.set("pkce", &node{kind: kindFalse})
	}
	if st.InsecureNoNonce {
		o.set("nonce", &node{kind: kindFalse})
	}
	if st.BackchannelLogout {
		o.set("backchannel_logout", &node{kind: kindTrue})
	}
	if st.RefreshUserinfo {
		o.set("refresh_userinfo", &node{kind: kindTrue})
	}
	if st.Claims != nil {
		o.set("claims", nodeOf(st.Claims))
	}
	if st.LoginParams != nil {
		o.set("login_params", nodeOf(st.LoginParams))
	}
	encodeBearerKeys(o, st) // bearer.go
	for _, k := range sortedKeys(st.Custom) {
		if o.get(k) == nil && knownKey(k) == "" {
			o.set(k, stringNode(st.Custom[k]))
		}
	}
	if st.Steps != nil {
		steps := &node{kind: kindArray}
		for _, s := range st.Steps {
			steps.vals = append(steps.vals, encodeStep(s))
		}
		o.set("steps", steps)
	}
	return o
}

func encodeStep(s Step) *node {
	o := &node{kind: kindObject}
	str := func(k, v string) {
		if v != "" {
			o.set(k, stringNode(v))
		}
	}
	str("name", s.Name)
	str("uri", s.URI)
	str("method", s.Method)
	if s.Headers != nil || s.Auth != nil {
		c := &node{kind: kindObject}
		if s.Headers != nil {
			c.set("headers", nodeOf(s.Headers))
		}
		if s.Auth != nil {
			c.set("auth", nodeOf(map[string]string{"username": s.Auth.Username, "password": s.Auth.Password}))
		}
		o.set("config", c)
	}
	if s.Form != nil {
		o.set("form", nodeOf(s.Form))
	}
	if s.JSON != nil {
		o.set("json", nodeOf(s.JSON))
	}
	str("error_path", s.ErrorPath)
	str("client_auth", s.ClientAuth)
	str("decode", s.Decode)
	str("jwks_uri", s.JWKSURI)
	str("issuer", s.Issuer)
	str("audience", s.Audience)
	if s.Algorithms != nil {
		o.set("algorithms", nodeOf(s.Algorithms))
	}
	if s.InsecureSkipVerify {
		o.set("verify", &node{kind: kindFalse})
	}
	return o
}

// knownKey returns k when it is a known strategy key, else "".
func knownKey(k string) string {
	for _, kk := range knownKeys {
		if kk == k {
			return k
		}
	}
	return ""
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
