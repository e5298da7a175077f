package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testECPEM(tb testing.TB) (string, *ecdsa.PrivateKey) {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), k
}

// TestParseClientKeyEscapedNewlines: a PEM key put in an environment
// variable with its newlines written as \n still parses.
func TestParseClientKeyEscapedNewlines(t *testing.T) {
	t.Parallel()
	p, _ := testECPEM(t)
	k, err := parseClientKey(strings.ReplaceAll(p, "\n", `\n`), "kid1")
	if err != nil || k.Algorithm() != "ES256" || k.kid != "kid1" {
		t.Fatalf("%v %v", k, err)
	}
}

// TestSignedSecretLifetime: the secret is reused while more than half its
// lifetime remains, minted anew from the half on, and each has exp = iat +
// lifetime.
func TestSignedSecretLifetime(t *testing.T) {
	t.Parallel()
	p, priv := testECPEM(t)
	key, err := parseClientKey(p, "K")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ss := &signedSecret{key: key, iss: "T", sub: "c", aud: "https://appleid.apple.com", lifetime: 180 * 24 * time.Hour, now: func() time.Time { return now }}
	first, _ := ss.get()
	now = now.Add(90*24*time.Hour - time.Second)
	if again, _ := ss.get(); again != first || ss.minted != 1 {
		t.Fatalf("reminted before half the lifetime (%d mints)", ss.minted)
	}
	now = now.Add(time.Second)
	second, _ := ss.get()
	if second == first || ss.minted != 2 {
		t.Fatalf("not reminted at half the lifetime (%d mints)", ss.minted)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(second, claims, func(*jwt.Token) (any, error) { return &priv.PublicKey, nil },
		jwt.WithTimeFunc(func() time.Time { return now })); err != nil {
		t.Fatal(err)
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if exp.Sub(iat.Time) != 180*24*time.Hour || !iat.Time.Equal(now) {
		t.Fatalf("iat %v exp %v", iat, exp)
	}
}

// BenchmarkClientAssertion is the cost private_key_jwt adds to a token
// request: one ES256 signature.
func BenchmarkClientAssertion(b *testing.B) {
	p, _ := testECPEM(b)
	key, err := parseClientKey(p, "K")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := key.assertion("client", "https://idp.test/token", now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignedSecretCached is the cost of a signed client secret
// between mints: a lock and a time comparison.
func BenchmarkSignedSecretCached(b *testing.B) {
	p, _ := testECPEM(b)
	key, _ := parseClientKey(p, "K")
	ss := &signedSecret{key: key, iss: "T", sub: "c", aud: "A", lifetime: time.Hour, now: time.Now}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ss.get(); err != nil {
			b.Fatal(err)
		}
	}
}
