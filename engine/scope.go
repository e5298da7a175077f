package engine

import (
	"net/url"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// scope is what a template reads at run time: the strategy's variables and
// environment, the engine's generated values, the callback's query and the
// results of earlier steps.
type scope struct {
	s       *Strategy
	gen     map[string]string // state, nonce, code_verifier, tokens...
	auth    url.Values
	results map[string][]byte // step name -> JSON result
}

func (sc *scope) lookup(r interp.Ref) (string, interp.Origin, bool) {
	if r.Root == strategies.RootEnv {
		v, ok := sc.s.env[r.Path]
		return v, interp.Config, ok
	}
	if v, ok := sc.s.vars[r.Root]; ok && r.Path == "" {
		return v, interp.Config, true
	}
	if v, ok := sc.gen[r.Root]; ok && r.Path == "" {
		return v, strategies.OriginOf(r.Root, false), v != ""
	}
	if r.Root == strategies.RootAuth {
		vs := sc.auth[r.Path]
		if len(vs) == 0 {
			return "", interp.Untrusted, false
		}
		return vs[0], interp.Untrusted, true
	}
	if doc, ok := sc.results[r.Root]; ok {
		if r.Path == "" {
			return string(doc), interp.Untrusted, true
		}
		res := gjson.GetBytes(doc, r.Path)
		if !res.Exists() {
			return "", interp.Untrusted, false
		}
		return res.String(), interp.Untrusted, true
	}
	return "", interp.Untrusted, false
}
