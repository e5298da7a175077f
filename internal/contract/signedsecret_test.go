package contract

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// signedSecret is how a provider checks a client_secret that is a JWT the
// client signs with a key of its own (Sign in with Apple): the header's
// alg and kid, the claims, and at most how long it may live.
type signedSecret struct {
	Key         string            `json:"key"`          // the env_keys variable whose public half verifies it
	Alg         string            `json:"alg"`          // the only algorithm accepted, e.g. ES256
	Kid         string            `json:"kid"`          // the header's kid
	Claims      map[string]string `json:"claims"`       // required claims (iss, sub, aud); values as in params
	MaxLifetime int64             `json:"max_lifetime"` // seconds: exp - iat at most this
}

// makeEnvKeys makes the contract's env_keys. A key type it does not know
// is a finding of the run.
func (p *provider) makeEnvKeys() {
	for name, kind := range p.c.EnvKeys {
		if kind != "P-256" {
			p.failf("contract: env_keys %s: %q: want P-256", name, kind)
			continue
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		p.envKeys[name] = k
		p.envPEM[name] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
}

// secretOK reports whether got is the client's secret: the contract's
// client_secret, or with signed_secret a JWT that verifies as it says (each
// way it does not is recorded).
func (p *provider) secretOK(what, got string) bool {
	ss := p.c.SignedSecret
	if ss == nil {
		return got == p.c.ClientSecret
	}
	if err := p.checkSignedSecret(ss, got); err != nil {
		p.failf("%s: client_secret: %v", what, err)
		return false
	}
	return true
}

func (p *provider) checkSignedSecret(ss *signedSecret, raw string) error {
	key := p.envKeys[ss.Key]
	if key == nil {
		return fmt.Errorf("contract: signed_secret.key %q names no env_keys key", ss.Key)
	}
	if raw == "" {
		return fmt.Errorf("missing: the provider wants a JWT signed with the key in $%s", ss.Key)
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{ss.Alg}), jwt.WithExpirationRequired(), jwt.WithIssuedAt()}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, opts...)
	if err != nil {
		return fmt.Errorf("not a JWT the provider accepts (%s signed with the key in $%s): %v", ss.Alg, ss.Key, err)
	}
	if kid, _ := tok.Header["kid"].(string); kid != ss.Kid {
		return fmt.Errorf("header kid %q, want %q", kid, ss.Kid)
	}
	for _, k := range sortedKeys(ss.Claims) {
		want, _ := p.value(ss.Claims[k])
		var got string
		switch v := claims[k].(type) {
		case string:
			got = v
		case []any: // aud may be an array of one
			if len(v) == 1 {
				got, _ = v[0].(string)
			}
		}
		if got != want {
			return fmt.Errorf("claim %s %q, want %q", k, got, want)
		}
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil {
		return fmt.Errorf("claim iat is missing")
	}
	if life := exp.Unix() - iat.Unix(); ss.MaxLifetime > 0 && life > ss.MaxLifetime {
		return fmt.Errorf("lives %d s (exp - iat), the provider takes at most %d", life, ss.MaxLifetime)
	}
	return nil
}
