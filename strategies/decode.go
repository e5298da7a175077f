package strategies

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// decodeStrategy turns a merged raw strategy into a Strategy, reporting keys
// of the wrong type. It returns nil only when nothing usable is left.
func decodeStrategy(r *reporter, name string, o rawObject) *Strategy {
	st := &Strategy{Name: name, PKCE: true, Nonce: true, Custom: map[string]string{}, raw: o}
	strs := map[string]*string{
		"label": &st.Label, "auth_uri": &st.AuthURI, "client_id": &st.ClientID, "client_secret": &st.ClientSecret,
		"base_uri": &st.BaseURI, "redirect_path": &st.RedirectPath, "scope": &st.Scope, "grant_type": &st.GrantType,
		"jwt_key": &st.JWTKey, "logout_uri": &st.LogoutURI,
	}
	bools := map[string]*bool{"pkce": &st.PKCE, "nonce": &st.Nonce, "backchannel_logout": &st.BackchannelLogout}
	for _, k := range o.keys {
		v := o.vals[k]
		if isNull(v) {
			r.errorf(name, "", k, "null is not a value: remove the key to keep the default")
			continue
		}
		switch {
		case strs[k] != nil:
			decodeString(r, name, "", k, v, strs[k])
		case bools[k] != nil:
			if err := json.Unmarshal(v, bools[k]); err != nil {
				r.errorf(name, "", k, "must be true or false, not %s", kind(v))
			}
		case k == "claims":
			st.Claims = decodeStringMap(r, name, "", k, v)
		case k == "steps":
			st.Steps = decodeSteps(r, name, v)
		default:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				r.errorf(name, "", k, "a custom variable must be a string, not %s", kind(v))
				continue
			}
			st.Custom[k] = s
		}
	}
	return st
}

// isNull reports whether a raw value is JSON null. Unmarshalling null into
// a Go value leaves it unchanged, so without this check "pkce": null would
// silently keep the default.
func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func decodeSteps(r *reporter, strategy string, v json.RawMessage) []Step {
	var arr []json.RawMessage
	if err := json.Unmarshal(v, &arr); err != nil {
		r.errorf(strategy, "", "steps", "must be an array of steps, not %s", kind(v))
		return nil
	}
	steps := make([]Step, 0, len(arr))
	for i, e := range arr {
		o, _, err := parseObject(e)
		if err != nil {
			r.errorf(strategy, "", "steps", "step %d: %v", i+1, err)
			continue
		}
		steps = append(steps, decodeStep(r, strategy, i, o))
	}
	return steps
}

func decodeStep(r *reporter, strategy string, i int, o rawObject) Step {
	st := Step{Verify: true}
	if v, ok := o.get("name"); ok {
		decodeString(r, strategy, "", "steps", v, &st.Name)
	}
	label := st.Name
	if label == "" {
		label = "#" + strconv.Itoa(i+1)
	}
	strs := map[string]*string{
		"name": &st.Name, "uri": &st.URI, "method": &st.Method, "decode": &st.Decode,
		"jwks_uri": &st.JWKSURI, "issuer": &st.Issuer, "audience": &st.Audience, "error_path": &st.ErrorPath,
	}
	for _, k := range o.keys {
		v := o.vals[k]
		if isNull(v) {
			r.errorf(strategy, label, k, "null is not a value: remove the key to keep the default")
			continue
		}
		switch {
		case strs[k] != nil:
			decodeString(r, strategy, label, k, v, strs[k])
		case k == "verify":
			if err := json.Unmarshal(v, &st.Verify); err != nil {
				r.errorf(strategy, label, k, "must be true or false, not %s", kind(v))
			}
		case k == "algorithms":
			if err := json.Unmarshal(v, &st.Algorithms); err != nil {
				r.errorf(strategy, label, k, "must be an array of strings, not %s", kind(v))
			}
		case k == "form":
			st.Form = decodeStringMap(r, strategy, label, k, v)
		case k == "json":
			dec := json.NewDecoder(bytes.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(&st.JSON); err != nil {
				r.errorf(strategy, label, k, "%v", err)
			}
		case k == "config":
			decodeConfig(r, strategy, label, v, &st)
		default:
			r.errorf(strategy, label, k, "unknown step field (known: %s)", "name, uri, method, config, form, json, decode, jwks_uri, issuer, audience, algorithms, verify")
		}
	}
	if v, ok := o.get("error_path"); ok && kind(v) == "a string" {
		checkErrorPath(r, strategy, label, st)
	}
	return st
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

func decodeConfig(r *reporter, strategy, step string, v json.RawMessage, st *Step) {
	o, _, err := parseObject(v)
	if err != nil {
		r.errorf(strategy, step, "config", "must be an object, not %s", kind(v))
		return
	}
	for _, k := range o.keys {
		switch k {
		case "headers":
			st.Headers = decodeStringMap(r, strategy, step, "config.headers", o.vals[k])
		case "auth":
			m := decodeStringMap(r, strategy, step, "config.auth", o.vals[k])
			for mk := range m {
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

func decodeString(r *reporter, strategy, step, field string, v json.RawMessage, dst *string) {
	if err := json.Unmarshal(v, dst); err != nil {
		r.errorf(strategy, step, field, "must be a string, not %s", kind(v))
	}
}

// decodeStringMap decodes an object whose values are all strings.
func decodeStringMap(r *reporter, strategy, step, field string, v json.RawMessage) map[string]string {
	o, _, err := parseObject(v)
	if err != nil {
		r.errorf(strategy, step, field, "must be an object of strings, not %s", kind(v))
		return nil
	}
	m := make(map[string]string, len(o.keys))
	for _, k := range o.keys {
		var s string
		if err := json.Unmarshal(o.vals[k], &s); err != nil {
			r.errorf(strategy, step, field+"."+k, "must be a string, not %s", kind(o.vals[k]))
			continue
		}
		m[k] = s
	}
	return m
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
