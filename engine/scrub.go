package engine

import (
	"bytes"
	"encoding/json"

	"github.com/tidwall/gjson"
)

// minScrubbed is the shortest token scrubUser looks for: shorter strings
// are too likely to be ordinary values.
const minScrubbed = 8

// scrubUser removes from the user object every string member, at any
// depth, that is one of the login's tokens (the token step's access,
// refresh and ID token): the user object is shown to the browser at
// /auth/session and its claims go upstream, and some user endpoints echo
// the token they were asked with (HubSpot's access-token information has
// it as "token"). The tokens stay in the session's tokens, server-side.
func scrubUser(user, tokenAnswer []byte) []byte {
	var toks []string
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v := gjson.GetBytes(tokenAnswer, k); v.Type == gjson.String && len(v.Str) >= minScrubbed {
			if bytes.Contains(user, []byte(v.Str)) {
				toks = append(toks, v.Str)
			}
		}
	}
	if len(toks) == 0 {
		return user
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(user))
	dec.UseNumber() // numbers as written: a 64-bit id keeps its digits
	if err := dec.Decode(&doc); err != nil {
		return user
	}
	out, err := json.Marshal(scrub(doc, toks))
	if err != nil {
		return user
	}
	return out
}

// scrub returns v without the strings in toks.
func scrub(v any, toks []string) any {
	isTok := func(e any) bool {
		s, ok := e.(string)
		if !ok {
			return false
		}
		for _, t := range toks {
			if s == t {
				return true
			}
		}
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isTok(e) {
				delete(x, k)
			} else {
				x[k] = scrub(e, toks)
			}
		}
	case []any:
		out := x[:0]
		for _, e := range x {
			if !isTok(e) {
				out = append(out, scrub(e, toks))
			}
		}
		return out
	}
	return v
}
