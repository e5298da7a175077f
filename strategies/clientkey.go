package strategies

import (
	"slices"
	"strings"
	"time"

	"github.com/authflow/authflow/interp"
)

// KeySignedSecret is the strategy key describing a signed client secret
// (SignedSecret).
const KeySignedSecret = "signed_client_secret"

// signedSecretFields are the members signed_client_secret takes.
var signedSecretFields = []string{"iss", "sub", "aud", "lifetime"}

// decodeSignedSecret decodes signed_client_secret: an object of strings.
func decodeSignedSecret(r *reporter, strategy string, v *node) *SignedSecret {
	m := decodeStringMap(r, strategy, "", KeySignedSecret, v)
	if m == nil {
		return nil
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(signedSecretFields, k) {
			r.errorf(strategy, "", KeySignedSecret+"."+k, "unknown field (%s takes %s)", KeySignedSecret, strings.Join(signedSecretFields, ", "))
		}
	}
	return &SignedSecret{Issuer: m["iss"], Subject: m["sub"], Audience: m["aud"], Lifetime: m["lifetime"]}
}

// keyFields are the templates of the client's key: client_key,
// client_key_id and signed_client_secret's claims, all fixed when the
// engine starts.
type keyFields struct {
	key, kid      *Template
	assertionAud  *Template
	iss, sub, aud *Template
	lifetime      time.Duration
}

// compileKey compiles the strategy's key fields.
func (c *compiler) compileKey() {
	st := c.st
	opt := func(name, src string) *Template {
		if src == "" {
			return nil
		}
		return c.add("", name, src, interp.Plain, PhaseFixed, -1)
	}
	c.key.key = opt("client_key", st.ClientKey)
	c.key.kid = opt("client_key_id", st.ClientKeyID)
	c.key.assertionAud = opt("client_assertion_audience", st.ClientAssertionAudience)
	if ss := st.SignedSecret; ss != nil {
		sub := ss.Subject
		if sub == "" {
			sub = "${client_id}"
		}
		c.key.iss = opt(KeySignedSecret+".iss", ss.Issuer)
		c.key.sub = opt(KeySignedSecret+".sub", sub)
		c.key.aud = opt(KeySignedSecret+".aud", ss.Audience)
	}
}

// validateKey checks client_key and signed_client_secret.
func (c *compiler) validateKey() {
	r, st := c.r, c.st
	name := st.Name
	if st.ClientKey != "" && !strings.Contains(st.ClientKey, "${") {
		r.errorf(name, "", "client_key", "the private key is written in the file; read it from the environment with ${env.NAME}")
	}
	if st.ClientAssertionAudience != "" && st.ClientKey == "" {
		r.errorf(name, "", "client_assertion_audience", "sets the aud of private_key_jwt assertions, and the strategy has no client_key to sign them")
	}
	for _, t := range []*Template{c.key.key, c.key.kid, c.key.iss, c.key.sub, c.key.aud, c.key.assertionAud} {
		if t != nil && t.t != nil {
			for _, ref := range t.t.Refs() {
				if ref.Root == "client_secret" {
					r.errorf(name, "", t.name, "%s: the client's key and its signed secret may not read the client secret", ref)
				}
			}
		}
	}
	if st.ClientKey != "" && st.SignedSecret == nil && !slices.ContainsFunc(st.Steps, func(s Step) bool {
		return s.ClientAuth == ClientAuthPrivateKeyJWT || s.ClientAuth == ClientAuthDiscovery
	}) {
		r.warnf(name, "", "client_key", "never used: no step has \"client_auth\": \"private_key_jwt\" (or \"discovery\"), and there is no %s", KeySignedSecret)
	}
	ss := st.SignedSecret
	if ss == nil {
		return
	}
	// A signed secret is minted at run time: what is fixed when the
	// engine starts (variables, issuer, jwks_uri, audience) cannot hold it.
	for _, f := range c.fields {
		if f.t == nil || (f.phase != PhaseVariable && f.phase != PhaseFixed) {
			continue
		}
		for _, ref := range f.t.Refs() {
			if ref.Root == "client_secret" && ref.Path == "" && !slices.Contains([]*Template{c.key.key, c.key.kid, c.key.iss, c.key.sub, c.key.aud}, f) {
				r.errorf(name, f.step, f.name, "%s: the client secret is signed per request (%s); read it in a step's form, headers or config.auth, not in a value fixed when the engine starts", ref, KeySignedSecret)
			}
		}
	}
	if st.ClientKey == "" {
		r.errorf(name, "", KeySignedSecret, "needs client_key, the private key that signs it (\"client_key\": \"${env.NAME}\")")
	}
	if st.ClientSecret != "" {
		r.errorf(name, "", "client_secret", "%s makes the client secret: remove client_secret", KeySignedSecret)
	}
	if ss.Issuer == "" {
		r.errorf(name, "", KeySignedSecret+".iss", "missing: the secret's issuer (Apple: your team ID)")
	}
	if ss.Audience == "" {
		r.errorf(name, "", KeySignedSecret+".aud", "missing: the secret's audience (Apple: https://appleid.apple.com)")
	}
	c.key.lifetime = DefaultSignedSecretLifetime
	if ss.Lifetime != "" {
		d, err := time.ParseDuration(ss.Lifetime)
		switch {
		case err != nil:
			r.errorf(name, "", KeySignedSecret+".lifetime", "%q is not a duration, such as \"1h\" or \"720h\"", ss.Lifetime)
		case d < time.Minute:
			r.errorf(name, "", KeySignedSecret+".lifetime", "%s is too short: at least 1m (the secret is reminted when half of it has passed)", d)
		case d > MaxSignedSecretLifetime:
			r.errorf(name, "", KeySignedSecret+".lifetime", "%s is too long: at most %s (15777000 seconds, six months, Apple's limit)", d, MaxSignedSecretLifetime)
		default:
			c.key.lifetime = d
		}
	}
}

// ClientKey returns the template of the client's private key (PEM), or
// nil when the strategy has none.
func (sp *StrategyPlan) ClientKey() *Template { return sp.key.key }

// ClientKeyID returns the template of the kid header of what the client's
// key signs, or nil.
func (sp *StrategyPlan) ClientKeyID() *Template { return sp.key.kid }

// ClientAssertionAudience returns the template of the aud of
// private_key_jwt assertions, or nil for the token endpoint.
func (sp *StrategyPlan) ClientAssertionAudience() *Template { return sp.key.assertionAud }

// SignedSecret returns the signed client secret's claims (iss, sub, aud
// templates, fixed when the engine starts) and lifetime; ok is false when
// the strategy's client secret is not signed.
func (sp *StrategyPlan) SignedSecret() (iss, sub, aud *Template, lifetime time.Duration, ok bool) {
	if sp.def.SignedSecret == nil {
		return nil, nil, nil, 0, false
	}
	return sp.key.iss, sp.key.sub, sp.key.aud, sp.key.lifetime, true
}
