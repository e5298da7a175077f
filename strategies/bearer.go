package strategies

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/authflow/authflow/interp"
)

// This file holds the strategy keys for API clients and upstream services:
// bearer, required_scopes and upstream_claims, and the introspect step.

// Bearer is a strategy's "bearer" key: the strategy judges API clients'
// access tokens sent as Authorization: Bearer (RFC 6750). "bearer": true
// is the zero Bearer.
type Bearer struct {
	// Audience (bearer.audience) is what a JWT access token's aud must
	// hold. Default: the strategy's client_id.
	Audience string
	// Introspect (bearer.introspect) sends a token that is not a JWT to the
	// strategy's introspect step (RFC 7662).
	Introspect bool
}

// VarBearerToken is ${bearer_token}: the access token an introspect step
// asks about.
const VarBearerToken = "bearer_token"

// bearerKeys are the strategy keys decodeBearerKey reads.
var bearerKeys = map[string]bool{"bearer": true, "required_scopes": true, "upstream_claims": true}

// upstreamReserved are the claims authflow sets in an upstream JWT itself;
// upstream_claims may not name them.
var upstreamReserved = []string{"iss", "aud", "sub", "email", "groups", "strategy", "sid", "iat", "exp", "nbf", "jti"}

// decodeBearerKey decodes one of bearerKeys into st.
func decodeBearerKey(r *reporter, name, k string, v *node, st *Strategy) {
	switch k {
	case "bearer":
		switch v.kind {
		case kindTrue:
			st.Bearer = &Bearer{}
		case kindFalse:
			st.Bearer = nil
		case kindObject:
			if v.dup != "" {
				r.errorf(name, "", k, "key %q appears twice", v.dup)
			}
			b := &Bearer{}
			for i, f := range v.keys {
				switch f {
				case "audience":
					decodeString(r, name, "", "bearer.audience", v.vals[i], &b.Audience)
					if b.Audience == "" {
						r.errorf(name, "", "bearer.audience", "empty: remove it to use the client_id")
					}
				case "introspect":
					decodeBool(r, name, "", "bearer.introspect", v.vals[i], &b.Introspect)
				default:
					r.errorf(name, "", "bearer."+f, "unknown field (bearer takes audience and introspect)")
				}
			}
			st.Bearer = b
		default:
			r.errorf(name, "", k, "must be true, false or an object {\"audience\": ..., \"introspect\": true}, not %s", v.kindName())
		}
	case "required_scopes":
		st.RequiredScopes = decodeStringList(r, name, "", k, v)
	case "upstream_claims":
		st.UpstreamClaims = decodeStringMap(r, name, "", k, v)
	}
}

// encodeBearerKeys writes st's bearer keys into o, as a file holds them.
func encodeBearerKeys(o *node, st *Strategy) {
	if b := st.Bearer; b != nil {
		if *b == (Bearer{}) {
			o.set("bearer", &node{kind: kindTrue})
		} else {
			m := map[string]any{}
			if b.Audience != "" {
				m["audience"] = b.Audience
			}
			if b.Introspect {
				m["introspect"] = true
			}
			o.set("bearer", nodeOf(m))
		}
	}
	if st.RequiredScopes != nil {
		o.set("required_scopes", nodeOf(st.RequiredScopes))
	}
	if st.UpstreamClaims != nil {
		o.set("upstream_claims", nodeOf(st.UpstreamClaims))
	}
}

// compileBearer compiles bearer.audience, a template fixed when the engine
// starts (variables, ${env.NAME}, ${discovery.NAME}).
func (c *compiler) compileBearer() {
	if b := c.st.Bearer; b != nil && b.Audience != "" {
		c.add("", "bearer.audience", b.Audience, interp.Plain, PhaseFixed, -1)
	}
}

// validateBearer checks the bearer keys and the introspect step; it runs
// after the templates are bound.
func (c *compiler) validateBearer() {
	r, st := c.r, c.st
	name := st.Name
	intro := st.Step(StepIntrospect)
	if intro != nil {
		if intro.IsDecode() {
			r.errorf(name, StepIntrospect, "decode", "the introspect step is an HTTP call to the introspection endpoint (RFC 7662), not a decode step")
		} else if !c.reads(StepIntrospect, VarBearerToken) {
			r.errorf(name, StepIntrospect, "", "never sends ${%s}: add \"form\": {\"token\": \"${%s}\"}", VarBearerToken, VarBearerToken)
		}
	}
	for i, sc := range st.RequiredScopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n,\"\\") {
			r.errorf(name, "", "required_scopes", "scope %d (%q): a scope is a non-empty name without spaces, commas, quotes or backslashes", i+1, sc)
		}
	}
	if len(st.RequiredScopes) > 0 && st.Bearer == nil {
		r.errorf(name, "", "required_scopes", "only bearer tokens have scopes: set \"bearer\" too, or remove required_scopes")
	}
	for _, k := range sortedKeys(st.UpstreamClaims) {
		switch path := st.UpstreamClaims[k]; {
		case k == "":
			r.errorf(name, "", "upstream_claims", "a claim has an empty name")
		case slices.Contains(upstreamReserved, k):
			r.errorf(name, "", "upstream_claims."+k, "authflow sets %q itself; name the claim otherwise", k)
		case path == "":
			r.errorf(name, "", "upstream_claims."+k, "empty path: give a gjson path into the user object, e.g. \"plan\"")
		case strings.Contains(path, "${"):
			r.errorf(name, "", "upstream_claims."+k, "%q: a gjson path into the user object, not a template", path)
		}
	}
	b := st.Bearer
	if b == nil {
		return
	}
	jwtStep := st.Step(StepJWT)
	verifiesJWT := jwtStep != nil && jwtStep.IsDecode() && !jwtStep.InsecureSkipVerify
	switch {
	case b.Introspect && intro == nil:
		r.errorf(name, "", "bearer.introspect", "the strategy has no %q step: add one that POSTs ${%s} to the introspection endpoint (RFC 7662)", StepIntrospect, VarBearerToken)
	case !b.Introspect && !verifiesJWT:
		r.errorf(name, "", "bearer", "needs a verified decode step named %q (its keys and issuer check JWT access tokens), or \"introspect\": true with an %q step", StepJWT, StepIntrospect)
	}
}

// reads reports whether a template of step reads the placeholder root.
func (c *compiler) reads(step, root string) bool {
	for _, f := range c.fields {
		if f.step != step || f.t == nil {
			continue
		}
		for _, ref := range f.t.Refs() {
			if ref.Root == root {
				return true
			}
		}
	}
	return false
}

// checkIntrospectors refuses a file in which two strategies introspect: an
// opaque token names no issuer, so only one strategy may be asked about it
// (sending it to another provider's introspection endpoint would hand that
// provider the token).
func checkIntrospectors(r *reporter, plan *Plan) {
	var names []string
	for _, sp := range plan.strategies {
		if b := sp.def.Bearer; b != nil && b.Introspect {
			names = append(names, sp.def.Name)
		}
	}
	if len(names) > 1 {
		r.errorf(names[1], "", "bearer.introspect", "strategy %q introspects bearer tokens too: an opaque token names no issuer, so at most one strategy may introspect (a token sent to the wrong introspection endpoint leaks to that provider)", names[0])
	}
}

// BearerPlan is the compiled "bearer" key of a strategy.
type BearerPlan struct {
	audience       *Template // nil: the client_id
	introspect     bool
	requiredScopes []string
}

// Audience returns bearer.audience, fixed when the engine starts, or nil
// for the client_id.
func (b *BearerPlan) Audience() *Template { return b.audience }

// Introspect reports whether an opaque token goes to the introspect step.
func (b *BearerPlan) Introspect() bool { return b.introspect }

// RequiredScopes returns the scopes every bearer token of the strategy
// must hold.
func (b *BearerPlan) RequiredScopes() []string { return slices.Clone(b.requiredScopes) }

// buildBearer makes the bearer plan, the introspect step and the upstream
// claims of sp.
func (c *compiler) buildBearer(sp *StrategyPlan) {
	st := c.st
	for _, k := range sortedKeys(st.UpstreamClaims) {
		sp.upstreamClaims = append(sp.upstreamClaims, Claim{Name: k, Path: st.UpstreamClaims[k]})
	}
	if st.Bearer == nil {
		return
	}
	b := &BearerPlan{introspect: st.Bearer.Introspect, requiredScopes: slices.Clone(st.RequiredScopes)}
	for _, f := range c.fields {
		if f.step == "" && f.name == "bearer.audience" {
			b.audience = f
		}
	}
	sp.bearer = b
}

// Bearer returns the strategy's bearer plan, or nil when it takes no
// bearer tokens.
func (sp *StrategyPlan) Bearer() *BearerPlan { return sp.bearer }

// IntrospectStep returns the introspect step, or nil.
func (sp *StrategyPlan) IntrospectStep() *StepPlan { return sp.introspect }

// UpstreamClaims returns the upstream_claims, by name: gjson paths into
// the user object.
func (sp *StrategyPlan) UpstreamClaims() []Claim { return slices.Clone(sp.upstreamClaims) }

// String describes the bearer plan for explain.
func (b *BearerPlan) String() string {
	aud := "${client_id}"
	if b.audience != nil {
		aud = b.audience.String()
	}
	s := fmt.Sprintf("JWT access tokens verified with the %q step's keys and issuer, aud %s", StepJWT, maskValue("audience", aud))
	if b.introspect {
		s += "; other tokens through the introspect step"
	}
	if len(b.requiredScopes) > 0 {
		s += "; required scopes " + strings.Join(b.requiredScopes, " ")
	}
	return s
}

// explainIntrospect says when the introspect step runs: only with
// bearer.introspect, and then the discovery document must name the
// endpoint it reads (the engine does not start without it).
func explainIntrospect(w io.Writer, sp *StrategyPlan) {
	if b := sp.Bearer(); b == nil || !b.Introspect() {
		fmt.Fprintf(w, "         never runs without \"bearer\": {\"introspect\": true}\n")
		return
	}
	if !sp.Discovery() {
		return
	}
	ms := discoveryMembers(sp.fields, func(t *Template) bool { return t.step == StepIntrospect && t.phase != PhaseVariable })
	if len(ms) > 0 {
		fmt.Fprintf(w, "         the engine does not start when the discovery document names no %s\n", strings.Join(ms, " or "))
	}
}
