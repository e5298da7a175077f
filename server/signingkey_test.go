package server

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/jwk"
	"github.com/authflow/authflow/store"
	"github.com/golang-jwt/jwt/v5"
)

func pemOf(t *testing.T, typ string, der []byte, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

var (
	rsaOnce    sync.Once
	rsa2048    *rsa.PrivateKey
	rsa1024    *rsa.PrivateKey
	rsaKeysErr error
)

// rsaKeys returns an RSA key of 2048 bits and one of 1024, made once.
func rsaKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	rsaOnce.Do(func() {
		if rsa2048, rsaKeysErr = rsa.GenerateKey(rand.Reader, 2048); rsaKeysErr == nil {
			rsa1024, rsaKeysErr = rsa.GenerateKey(rand.Reader, 1024)
		}
	})
	if rsaKeysErr != nil {
		t.Fatal(rsaKeysErr)
	}
	return rsa2048, rsa1024
}

// TestParseSigningKey loads a key file of each accepted kind, signs with
// it and verifies the token against the JWK Set the signer publishes; and
// refuses the keys it must not use.
func TestParseSigningKey(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	big, small := rsaKeys(t)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		return pemOf(t, "PRIVATE KEY", der, err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	ecParams := append(pemOf(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, nil), pemOf(t, "EC PRIVATE KEY", sec1, err)...)

	good := []struct {
		name, alg string
		pem       []byte
	}{
		{"EC P-256 PKCS#8", "ES256", pkcs8(ec)},
		{"EC P-256 SEC 1 after EC PARAMETERS (openssl ecparam -genkey)", "ES256", ecParams},
		{"Ed25519 PKCS#8", "EdDSA", pkcs8(ed)},
		{"RSA 2048 PKCS#1", "RS256", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(big), nil)},
		{"RSA 2048 PKCS#8", "RS256", pkcs8(big)},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := ParseSigningKey(tc.pem)
			if err != nil {
				t.Fatalf("ParseSigningKey: %v", err)
			}
			checkSigner(t, key, tc.alg)
		})
	}

	bad := []struct {
		name, pem, want string
	}{
		{"RSA 1024", string(pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small), nil)), "1024 bits"},
		{"RSA 1024 PKCS#8", string(pkcs8(small)), "1024 bits"},
		{"EC P-384", string(pkcs8(p384)), "P-384"},
		{"a public key", string(pemOf(t, "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(ec.Public())), nil)), "no PRIVATE KEY"},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"not PEM", "hello", "no PRIVATE KEY"},
		{"garbage in the block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSigningKey([]byte(tc.pem))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "server: ") {
				t.Fatalf("ParseSigningKey: %v, want an error about %q", err, tc.want)
			}
		})
	}

	// A Config with a key New must not use fails New's checks alike.
	cfg := Config{BaseURI: "https://app.example.com", UpstreamJWT: UpstreamJWT{Enabled: true, Key: small}}
	cfg.setDefaults()
	if _, _, err := newUpstreamSigner(&cfg); err == nil || !strings.Contains(err.Error(), "1024") {
		t.Errorf("Config.UpstreamJWT.Key RSA 1024: %v, want refused", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// checkSigner signs a token with key as a Server would and verifies it
// with the signer's published JWK Set.
func checkSigner(t *testing.T, key crypto.Signer, alg string) {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	cfg := Config{BaseURI: "https://app.example.com", Now: func() time.Time { return now },
		UpstreamJWT: UpstreamJWT{Enabled: true, Key: key}}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	u, ephemeral, err := newUpstreamSigner(&cfg)
	if err != nil || ephemeral {
		t.Fatalf("newUpstreamSigner: %v (ephemeral %v)", err, ephemeral)
	}
	tok, err := u.sign(subjectClaims{sub: "user-1", strategy: "acme"}, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mem := store.NewMemory(store.MemoryOptions{})
	t.Cleanup(func() { mem.Close() })
	keys, err := newPublishedKeys(mem, cfg.Now, slog.Default(), u.kid, u.jwk)
	if err != nil {
		t.Fatal(err)
	}
	doc := keys.document(context.Background())
	var set struct{ Keys []json.RawMessage }
	if err := json.Unmarshal(doc, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s: %v", doc, err)
	}
	pub, err := jwk.Parse(set.Keys[0]) // refuses a private key, or one not for signatures
	if err != nil || pub.Alg != alg {
		t.Errorf("JWK %s: alg %q, %v; want %s", set.Keys[0], pub.Alg, err, alg)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok.jwt(), claims, func(*jwt.Token) (any, error) { return pub.Public, nil },
		jwt.WithValidMethods([]string{alg}), jwt.WithIssuer("https://app.example.com"),
		jwt.WithAudience("https://app.example.com"), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("verify %s: %v", alg, err)
	}
	if parsed.Header["kid"] != pub.KID || claims["sub"] != "user-1" {
		t.Errorf("kid %v (published %q), sub %v", parsed.Header["kid"], pub.KID, claims["sub"])
	}
	if g, ok := claims["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups = %#v, want an empty array", claims["groups"])
	}
	if _, ok := claims["sid"]; ok {
		t.Errorf("sid without a session: %v", claims["sid"])
	}
	if exp := claims["exp"].(float64); int64(exp) != now.Add(15*time.Minute).Unix() {
		t.Errorf("exp = %v, want now + the default ttl", exp)
	}
}

// TestTokenCacheBounded: the cache never holds more than its size, and
// drops the tokens past their half-life first.
func TestTokenCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	c := &tokenCache{max: 64}
	ident := &identity{}
	stale := &upstreamToken{hdr: []string{"stale"}, reuseUntil: now}
	c.put("stale", stale, now.Add(-time.Minute))
	for i := range 1000 {
		c.put(string(rune('a'+i%26))+strings.Repeat("x", i), &upstreamToken{hdr: []string{"t"}, reuseUntil: now.Add(time.Hour)}, now)
		if n := c.len(); n > 64 {
			t.Fatalf("after %d puts the cache holds %d, more than 64", i+1, n)
		}
	}
	if c.get("stale", ident, now) != nil {
		t.Error("a token past its half-life is served")
	}
	live := &upstreamToken{hdr: []string{"live"}, reuseUntil: now.Add(time.Hour), ident: [4]string{"u"}}
	c.put("live", live, now)
	if c.get("live", &identity{vals: [4]string{"u"}}, now) != live {
		t.Error("a live token is not served")
	}
	if c.get("live", &identity{vals: [4]string{"other"}}, now) != nil {
		t.Error("a token is served for another identity")
	}
}
