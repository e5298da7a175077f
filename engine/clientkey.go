package engine

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAssertionLifetime is how long a private_key_jwt client assertion
// is valid: exp is iat plus this. Each request signs a new one, with a new
// jti.
const ClientAssertionLifetime = time.Minute

// clientKey is the strategy's client_key, parsed: it signs client
// assertions and the signed client secret.
type clientKey struct {
	key    crypto.PrivateKey
	method jwt.SigningMethod
	kid    string
}

// errBadKey never quotes the key.
var errBadKey = errors.New("not a PEM private key (PKCS #8, PKCS #1 RSA or SEC 1 EC)")

// parseClientKey parses a PEM private key and picks its algorithm: RSA
// RS256, P-256 ES256, P-384 ES384, P-521 ES512, Ed25519 EdDSA. Errors say
// what is wrong without quoting the key.
func parseClientKey(pemText, kid string) (*clientKey, error) {
	// A key passed through an environment variable often has its
	// newlines written as "\n".
	if !strings.Contains(pemText, "\n") {
		pemText = strings.ReplaceAll(pemText, `\n`, "\n")
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errBadKey
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM block of type %.40q is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, errBadKey
	}
	k := &clientKey{key: key, kid: kid}
	switch pk := key.(type) {
	case *rsa.PrivateKey:
		if pk.N.BitLen() < 2048 {
			return nil, fmt.Errorf("an RSA key of %d bits is too short (at least 2048)", pk.N.BitLen())
		}
		k.method = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		switch pk.Curve {
		case elliptic.P256():
			k.method = jwt.SigningMethodES256
		case elliptic.P384():
			k.method = jwt.SigningMethodES384
		case elliptic.P521():
			k.method = jwt.SigningMethodES512
		default:
			return nil, errors.New("an EC key on a curve other than P-256, P-384 or P-521")
		}
	case ed25519.PrivateKey:
		k.method = jwt.SigningMethodEdDSA
	default:
		return nil, fmt.Errorf("a %T key: want RSA, EC or Ed25519", key)
	}
	return k, nil
}

// Algorithm returns the JWS algorithm the key signs with.
func (k *clientKey) Algorithm() string { return k.method.Alg() }

// sign signs claims, with the key's kid.
func (k *clientKey) sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(k.method, claims)
	if k.kid != "" {
		t.Header["kid"] = k.kid
	}
	s, err := t.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("signing with client_key: %w", err)
	}
	return s, nil
}

// assertion returns a new private_key_jwt client assertion (RFC 7523 §3,
// OpenID Connect Core 1.0 §9): iss and sub the client id, aud the token
// endpoint, a unique jti, iat now and exp ClientAssertionLifetime later.
func (k *clientKey) assertion(clientID, aud string, now time.Time) (string, error) {
	return k.sign(jwt.MapClaims{
		"iss": clientID,
		"sub": clientID,
		"aud": aud,
		"jti": randomString(),
		"iat": now.Unix(),
		"exp": now.Add(ClientAssertionLifetime).Unix(),
	})
}

// signedSecret mints the strategy's signed_client_secret and keeps it
// while more than half its lifetime remains.
type signedSecret struct {
	key           *clientKey
	iss, sub, aud string
	lifetime      time.Duration
	now           func() time.Time

	mu     sync.Mutex
	value  string
	renew  time.Time // mint again from then on
	minted int       // how many were minted, for tests
}

// get returns the current secret, minting one when none is cached or half
// the cached one's lifetime has passed.
func (ss *signedSecret) get() (string, error) {
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.value != "" && now.Before(ss.renew) {
		return ss.value, nil
	}
	v, err := ss.key.sign(jwt.MapClaims{
		"iss": ss.iss,
		"sub": ss.sub,
		"aud": ss.aud,
		"iat": now.Unix(),
		"exp": now.Add(ss.lifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	ss.value, ss.renew = v, now.Add(ss.lifetime/2)
	ss.minted++
	return v, nil
}

// bindKey parses client_key and prepares the signed client secret.
func (s *Strategy) bindKey() error {
	sp := s.plan
	if sp.ClientKey() == nil {
		return nil
	}
	pemText, err := s.fixed(sp.ClientKey())
	if err != nil {
		return err
	}
	kid, err := s.fixed(sp.ClientKeyID())
	if err != nil {
		return err
	}
	if s.key, err = parseClientKey(pemText, kid); err != nil {
		return fmt.Errorf("client_key: %w", err)
	}
	if s.assertionAud, err = s.fixed(sp.ClientAssertionAudience()); err != nil {
		return err
	}
	iss, sub, aud, lifetime, ok := sp.SignedSecret()
	if !ok {
		return nil
	}
	ss := &signedSecret{key: s.key, lifetime: lifetime, now: s.e.opts.Now}
	for _, f := range []struct {
		t   *strategies.Template
		dst *string
	}{{iss, &ss.iss}, {sub, &ss.sub}, {aud, &ss.aud}} {
		if *f.dst, err = s.fixed(f.t); err != nil {
			return fmt.Errorf("%s.%w", strategies.KeySignedSecret, err)
		}
	}
	s.signed = ss
	return nil
}

// clientSecret returns the client secret: the signed one when the strategy
// signs it, else the client_secret variable.
func (s *Strategy) clientSecret() (string, error) {
	if s.signed != nil {
		return s.signed.get()
	}
	return s.vars["client_secret"], nil
}

// tokenEndpointOf returns the token step's URI as the engine starts (its
// variables and discovery known), the audience of client assertions; ""
// when it cannot be known then.
func (s *Strategy) tokenEndpointOf() string {
	for _, p := range s.plan.LoginSteps() {
		if p.Name() == strategies.StepToken && p.URI() != nil {
			if u, err := p.URI().Execute(s.fixedValue); err == nil {
				return stripQuery(u)
			}
		}
	}
	return ""
}

// stripQuery drops a URL's query and fragment.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}
