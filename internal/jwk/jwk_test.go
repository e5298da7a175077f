package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
)

// testKeys are generated once per test binary: RSA keygen is slow under
// -race.
var testKeys = sync.OnceValue(func() (k struct {
	rsa2048, rsa1024 *rsa.PrivateKey
	p256, p384, p521 *ecdsa.PrivateKey
	ed               ed25519.PrivateKey
}) {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	k.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// jwkOf returns pub's JWK as a map, for a test to change.
func jwkOf(t testing.TB, pub crypto.PublicKey, kid, alg string) map[string]any {
	t.Helper()
	b, err := Marshal(pub, kid, alg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var b64 = base64.RawURLEncoding.EncodeToString

// TestParse: every kind of key Parse accepts, and every refusal, with the
// kid kept on a refused key.
func TestParse(t *testing.T) {
	t.Parallel()
	k := testKeys()
	edit := func(pub crypto.PublicKey, alg string, f func(m map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			m := jwkOf(t, pub, "k1", alg)
			if f != nil {
				f(m)
			}
			return encode(t, m)
		}
	}
	raw := func(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	offCurve := func(m map[string]any) {
		y, _ := base64.RawURLEncoding.DecodeString(m["y"].(string))
		y[len(y)-1] ^= 1
		m["y"] = b64(y)
	}
	tests := []struct {
		name    string
		doc     func(*testing.T) []byte
		want    crypto.PublicKey // nil: refused
		wantErr string           // part of the refusal
	}{
		{"RSA 2048", edit(&k.rsa2048.PublicKey, "RS256", nil), &k.rsa2048.PublicKey, ""},
		{"RSA PS256", edit(&k.rsa2048.PublicKey, "PS256", nil), &k.rsa2048.PublicKey, ""},
		{"RSA no alg no use", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { delete(m, "use") }), &k.rsa2048.PublicKey, ""},
		{"RSA n with a leading zero", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) {
			m["n"] = b64(append([]byte{0}, k.rsa2048.N.Bytes()...))
		}), &k.rsa2048.PublicKey, ""},
		{"RSA padded base64", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) {
			m["e"] = base64.URLEncoding.EncodeToString(big.NewInt(65537).Bytes())
		}), &k.rsa2048.PublicKey, ""},
		{"P-256", edit(&k.p256.PublicKey, "ES256", nil), &k.p256.PublicKey, ""},
		{"P-384", edit(&k.p384.PublicKey, "ES384", nil), &k.p384.PublicKey, ""},
		{"P-521", edit(&k.p521.PublicKey, "ES512", nil), &k.p521.PublicKey, ""},
		{"Ed25519", edit(k.ed.Public(), "EdDSA", nil), k.ed.Public(), ""},
		{"unknown members ignored", edit(&k.p256.PublicKey, "", func(m map[string]any) {
			m["x5t"], m["ext"] = "abc", true
		}), &k.p256.PublicKey, ""},
		{"key_ops verify", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["key_ops"] = []string{"verify"} }), &k.p256.PublicKey, ""},

		{"use enc", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["use"] = "enc" }), nil, `for use "enc"`},
		{"key_ops without verify", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }), nil, "does not include verify"},
		{"key_ops not an array", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["key_ops"] = "verify" }), nil, "not an array"},
		{"RSA 1024", edit(&k.rsa1024.PublicKey, "", nil), nil, "RSA key of 1024 bits, under 2048"},
		{"RSA over 8192 bits", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) {
			n := new(big.Int).Lsh(big.NewInt(1), 8200)
			m["n"] = b64(n.Add(n, big.NewInt(1)).Bytes())
		}), nil, "over 8192"},
		{"RSA even modulus", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) {
			m["n"] = b64(new(big.Int).Lsh(k.rsa2048.N, 1).Bytes())
		}), nil, "even"},
		{"RSA exponent 1", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["e"] = "AQ" }), nil, "exponent of 1"},
		{"RSA exponent even", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["e"] = "AQAA" }), nil, "exponent of 65536"},
		{"RSA exponent huge", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["e"] = "AQAAAAE" }), nil, "over 2^31"},
		{"RSA no n", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { delete(m, "n") }), nil, `"n" is missing`},
		{"RSA n not base64url", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["n"] = "a+b/" }), nil, "not base64url"},
		{"RSA n a number", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["n"] = 12345 }), nil, "not a string"},
		{"RSA with alg ES256", edit(&k.rsa2048.PublicKey, "ES256", nil), nil, `alg "ES256" does not fit a RSA key`},
		{"RSA with an encryption alg", edit(&k.rsa2048.PublicKey, "RSA-OAEP", nil), nil, "does not fit"},
		{"RSA private key", edit(&k.rsa2048.PublicKey, "", func(m map[string]any) { m["d"] = b64(k.rsa2048.D.Bytes()) }), nil, "private key material"},
		{"EC private key", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["d"] = "AAAA" }), nil, "private key material"},
		{"symmetric", raw(`{"kty":"oct","kid":"k1","k":"c2VjcmV0"}`), nil, "symmetric"},
		{"P-256 off the curve", edit(&k.p256.PublicKey, "", offCurve), nil, "not on P-256"},
		{"P-384 off the curve", edit(&k.p384.PublicKey, "", offCurve), nil, "not on P-384"},
		{"P-521 off the curve", edit(&k.p521.PublicKey, "", offCurve), nil, "not on P-521"},
		{"P-256 point at zero", edit(&k.p256.PublicKey, "", func(m map[string]any) {
			m["x"], m["y"] = b64(make([]byte, 32)), b64(make([]byte, 32))
		}), nil, "not on P-256"},
		{"P-256 short x", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["x"] = b64(make([]byte, 31)) }), nil, `"x" is 31 bytes`},
		{"P-256 x of P-384's size", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["crv"] = "P-384" }), nil, "P-384 needs 48"},
		{"EC with a foreign curve", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["crv"] = "secp256k1" }), nil, "unsupported EC curve"},
		{"P-256 with alg ES384", edit(&k.p256.PublicKey, "ES384", nil), nil, "does not fit"},
		{"EC no y", edit(&k.p256.PublicKey, "", func(m map[string]any) { delete(m, "y") }), nil, `"y" is missing`},
		{"Ed25519 short", edit(k.ed.Public(), "", func(m map[string]any) { m["x"] = b64(make([]byte, 31)) }), nil, "Ed25519 needs 32"},
		{"X25519", edit(k.ed.Public(), "", func(m map[string]any) { m["crv"] = "X25519" }), nil, "only Ed25519 signs"},
		{"Ed448", edit(k.ed.Public(), "", func(m map[string]any) { m["crv"] = "Ed448" }), nil, "only Ed25519 signs"},
		{"OKP with alg RS256", edit(k.ed.Public(), "RS256", nil), nil, "does not fit"},
		{"no kty", edit(&k.p256.PublicKey, "", func(m map[string]any) { delete(m, "kty") }), nil, "no kty"},
		{"unknown kty", edit(&k.p256.PublicKey, "", func(m map[string]any) { m["kty"] = "DSA" }), nil, "unsupported kty"},
		{"duplicate member", raw(`{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"` + b64(k.ed.Public().(ed25519.PublicKey)) +
			`","x":"` + b64(make([]byte, 32)) + `"}`), nil, `"x" given twice`},
		{"member names are case-sensitive", edit(k.ed.Public(), "", func(m map[string]any) { m["X"] = m["x"]; delete(m, "x") }), nil, `"x" is missing`},
		{"not an object", raw(`["kty"]`), nil, "not a JSON object"},
		{"text after", raw(`{"kty":"oct"} {}`), nil, "text after"},
		{"not UTF-8", raw("{\"kty\":\"\xff\"}"), nil, "UTF-8"},
		{"truncated", raw(`{"kty":"RSA","n":`), nil, "not a JWK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := tt.doc(t)
			got, err := Parse(doc)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Parse(%s) = %T, want refused (%s)", doc, got.Public, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Parse: %v, want an error containing %q", err, tt.wantErr)
				}
				if got.Public != nil {
					t.Errorf("refused key has a public key %T", got.Public)
				}
				if strings.Contains(string(doc), `"kid":"k1"`) && got.KID != "k1" {
					t.Errorf("refused key's kid %q, want k1", got.KID)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%s): %v", doc, err)
			}
			if eq, ok := tt.want.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(got.Public) {
				t.Errorf("Parse = %v, want %v", got.Public, tt.want)
			}
			if got.KID != "k1" {
				t.Errorf("kid = %q", got.KID)
			}
		})
	}
}

// TestThumbprint: the examples of RFC 7638 §3.1 (RSA) and RFC 8037
// Appendix A.3 (Ed25519), and EC thumbprints computed by hand.
func TestThumbprint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, jwk, want string }{
		{"RFC 7638 3.1", `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`,
			"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 8037 A.3", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
			"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	} {
		k, err := Parse([]byte(tt.jwk))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got, err := Thumbprint(k.Public); err != nil || got != tt.want {
			t.Errorf("%s: Thumbprint = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestMarshalRoundTrip: what Marshal writes, Parse reads back as the same
// key, kid and alg, with use sig.
func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	k := testKeys()
	for _, tt := range []struct {
		pub crypto.PublicKey
		alg string
	}{{&k.rsa2048.PublicKey, "RS256"}, {&k.p256.PublicKey, "ES256"}, {&k.p384.PublicKey, "ES384"},
		{&k.p521.PublicKey, "ES512"}, {k.ed.Public(), "EdDSA"}} {
		b, err := Marshal(tt.pub, "kid-"+tt.alg, tt.alg)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"use":"sig"`) {
			t.Errorf("%s: %s has no use sig", tt.alg, b)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: Parse(%s): %v", tt.alg, b, err)
		}
		if !got.Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.pub) || got.KID != "kid-"+tt.alg || got.Alg != tt.alg {
			t.Errorf("%s: round trip gave %+v", tt.alg, got)
		}
	}
	if _, err := Marshal([]byte("secret"), "", ""); err == nil {
		t.Error("Marshal of a symmetric key: no error")
	}
}

// FuzzParse: Parse never panics, and a key it accepts is exactly the key
// Marshal writes for it (nothing in a JWK changes the key but its required
// members).
func FuzzParse(f *testing.F) {
	k := testKeys()
	for _, pub := range []crypto.PublicKey{&k.rsa2048.PublicKey, &k.p256.PublicKey, &k.p384.PublicKey, &k.p521.PublicKey, k.ed.Public()} {
		b, err := Marshal(pub, "kid", "")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"kty":"oct","k":"c2VjcmV0"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"","y":"","use":"enc","key_ops":["verify"]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := Parse(doc)
		if err != nil {
			if got.Public != nil {
				t.Fatalf("refused key %s has a public key", doc)
			}
			return
		}
		b, err := Marshal(got.Public, got.KID, got.Alg)
		if err != nil {
			t.Fatalf("Marshal of an accepted key: %v", err)
		}
		again, err := Parse(b)
		if err != nil || !again.Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public) {
			t.Fatalf("accepted %s, but its Marshal %s reads back as %v, %v", doc, b, again.Public, err)
		}
		if _, err := Thumbprint(got.Public); err != nil {
			t.Fatalf("Thumbprint of an accepted key: %v", err)
		}
	})
}
