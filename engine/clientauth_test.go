package engine_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// pemOf returns a private key as PKCS #8 PEM.
func pemOf(tb testing.TB, key crypto.PrivateKey) string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// assertionServer is an authorization server that authenticates clients
// by private_key_jwt (RFC 7523 §3, OpenID Connect Core 1.0 §9): it
// verifies client_assertion with the client's registered public key and
// checks its claims, at the token endpoint (code and refresh grants) and
// at revocation, and refuses anything else.
type assertionServer struct {
	t      *testing.T
	srv    *httptest.Server
	pub    crypto.PublicKey
	method jwt.SigningMethod
	kid    string
	now    func() time.Time
	aud    string // the audience it expects; default its token endpoint

	mu   sync.Mutex
	jtis map[string]bool
	seen []jwt.MapClaims
}

func newAssertionServer(t *testing.T, pub crypto.PublicKey, method jwt.SigningMethod, kid string, now func() time.Time) *assertionServer {
	a := &assertionServer{t: t, pub: pub, method: method, kid: kid, now: now, jtis: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if !a.authenticate(w, r) {
			return
		}
		switch r.PostForm.Get("grant_type") {
		case "authorization_code":
			if r.PostForm.Get("code") != "code-1" {
				writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "bad code")
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"access_token": "at-1-abcdefgh", "refresh_token": "rt-1-abcdefgh", "token_type": "Bearer", "expires_in": 3600})
		case "refresh_token":
			writeJSON(w, http.StatusOK, map[string]any{"access_token": "at-2-abcdefgh", "token_type": "Bearer", "expires_in": 3600})
		default:
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		}
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		if a.authenticate(w, r) {
			w.WriteHeader(http.StatusOK)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-1-abcdefgh" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"sub": "u-1", "email": "ada@example.test"})
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// audience is the aud the server expects.
func (a *assertionServer) audience() string {
	if a.aud != "" {
		return a.aud
	}
	return a.srv.URL + "/token"
}

// authenticate checks the request's client assertion as RFC 7523 §3
// says, answering invalid_client when it fails.
func (a *assertionServer) authenticate(w http.ResponseWriter, r *http.Request) bool {
	r.ParseForm()
	fail := func(why string, args ...any) bool {
		a.t.Errorf("%s %s: "+why, append([]any{r.Method, r.URL.Path}, args...)...)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "")
		return false
	}
	if _, _, ok := r.BasicAuth(); ok || r.PostForm.Has("client_secret") {
		return fail("a client secret was sent")
	}
	if got := r.PostForm.Get("client_assertion_type"); got != engine.ClientAssertionType {
		return fail("client_assertion_type %q", got)
	}
	if r.PostForm.Get("client_id") != testClientID {
		return fail("client_id %q", r.PostForm.Get("client_id"))
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), claims, func(t *jwt.Token) (any, error) { return a.pub, nil },
		jwt.WithValidMethods([]string{a.method.Alg()}), jwt.WithTimeFunc(a.now), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithIssuer(testClientID), jwt.WithSubject(testClientID), jwt.WithAudience(a.audience()))
	if err != nil {
		return fail("client_assertion: %v", err)
	}
	if kid, _ := tok.Header["kid"].(string); kid != a.kid {
		return fail("kid %q, want %q", kid, a.kid)
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if iat == nil || exp.Sub(iat.Time) > time.Minute || exp.Sub(iat.Time) <= 0 {
		return fail("exp - iat = %v: a client assertion must be short-lived", exp.Sub(iat.Time))
	}
	jti, _ := claims["jti"].(string)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(jti) < 16 || a.jtis[jti] {
		return fail("jti %q missing, short or replayed", jti)
	}
	a.jtis[jti] = true
	a.seen = append(a.seen, claims)
	return true
}

// keyEnv is an environment with ACME_SECRET and KEY.
func keyEnv(pemText string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		switch k {
		case "KEY":
			return pemText, true
		case "ACME_SECRET":
			return testClientSecret, true
		}
		return "", false
	}
}

// TestPrivateKeyJWT runs a login, a refresh and a revocation with
// client_auth private_key_jwt against an authorization server that
// verifies each assertion with the client's public key: RSA, P-256 and
// Ed25519 keys, with and without a kid.
func TestPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	ed, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name   string
		priv   crypto.PrivateKey
		pub    crypto.PublicKey
		method jwt.SigningMethod
		kid    string
	}{
		{"RS256", testKeyMaterial().rsa, &testKeyMaterial().rsa.PublicKey, jwt.SigningMethodRS256, "client-rsa"},
		{"ES256", testKeyMaterial().ec, &testKeyMaterial().ec.PublicKey, jwt.SigningMethodES256, ""},
		{"ES384", p384, &p384.PublicKey, jwt.SigningMethodES384, "k384"},
		{"EdDSA", edPriv, ed, jwt.SigningMethodEdDSA, "ed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			as := newAssertionServer(t, tt.pub, tt.method, tt.kid, clk.Now)
			kid := ""
			if tt.kid != "" {
				kid = fmt.Sprintf(`, "client_key_id": %q`, tt.kid)
			}
			file := strings.ReplaceAll(fmt.Sprintf(`{"base_uri": "https://app.test", "strategies": {"acme": {
				"auth_uri": "{{IDP}}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}",
				"client_id": %q, "scope": "read", "client_key": "${env.KEY}"%s,
				"steps": [
				  {"name": "token", "uri": "{{IDP}}/token?tenant=x", "method": "POST", "client_auth": "private_key_jwt",
				   "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}"}},
				  {"name": "jwt", "uri": "{{IDP}}/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}},
				  {"name": "refresh", "uri": "{{IDP}}/token", "method": "POST", "client_auth": "private_key_jwt",
				   "form": {"grant_type": "refresh_token", "refresh_token": "${refresh_token}"}},
				  {"name": "revoke", "uri": "{{IDP}}/revoke", "method": "POST", "client_auth": "private_key_jwt",
				   "form": {"token": "${refresh_token}"}}]}}}`, testClientID, kid), "{{IDP}}", as.srv.URL)
			plan, err := strategies.Parse("pkjwt.json", []byte(file))
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(t, plan, engine.Options{HTTPClient: as.srv.Client(), LookupEnv: keyEnv(pemOf(t, tt.priv)), Now: clk.Now})
			s := e.Strategy("acme")
			if got := s.ClientAuth("token"); got != strategies.ClientAuthPrivateKeyJWT {
				t.Fatalf("ClientAuth(token) = %q", got)
			}
			ctx := context.Background()
			l := s.NewLogin()
			res, err := s.Exchange(ctx, l, url.Values{"code": {"code-1"}, "state": {l.State}})
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Hour)
			toks, err := s.Refresh(ctx, res.Tokens)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Revoke(ctx, toks); err != nil {
				t.Fatal(err)
			}
			as.mu.Lock()
			defer as.mu.Unlock()
			if len(as.seen) != 3 {
				t.Fatalf("%d assertions verified, want 3 (token, refresh, revoke)", len(as.seen))
			}
		})
	}
}

// TestPrivateKeyJWTAudience: client_assertion_audience replaces the token
// endpoint as the assertion's aud, for servers that want their issuer.
func TestPrivateKeyJWTAudience(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	as := newAssertionServer(t, &testKeyMaterial().ec.PublicKey, jwt.SigningMethodES256, "", clk.Now)
	as.aud = "https://issuer.example/"
	file := strings.ReplaceAll(`{"base_uri": "https://app.test", "strategies": {"acme": {
		"auth_uri": "{{IDP}}/authorize", "client_id": "`+testClientID+`", "scope": "read", "pkce": false,
		"client_key": "${env.KEY}", "client_assertion_audience": "https://issuer.example/",
		"steps": [
		  {"name": "token", "uri": "{{IDP}}/token", "method": "POST", "client_auth": "private_key_jwt",
		   "form": {"grant_type": "${grant_type}", "code": "${auth.code}"}},
		  {"name": "jwt", "uri": "{{IDP}}/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]}}}`, "{{IDP}}", as.srv.URL)
	plan, err := strategies.Parse("aud.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	s := newEngine(t, plan, engine.Options{HTTPClient: as.srv.Client(), LookupEnv: keyEnv(pemOf(t, testKeyMaterial().ec)), Now: clk.Now}).Strategy("acme")
	l := s.NewLogin()
	if _, err := s.Exchange(context.Background(), l, url.Values{"code": {"code-1"}, "state": {l.State}}); err != nil {
		t.Fatal(err)
	}
}

// TestPrivateKeyJWTDiscovery: client_auth "discovery" picks
// private_key_jwt when the document lists it and the strategy has a key,
// and a secret method otherwise.
func TestPrivateKeyJWTDiscovery(t *testing.T) {
	t.Parallel()
	keyPEM := pemOf(t, testKeyMaterial().ec)
	tests := []struct {
		name, methods, keys, want string
	}{
		{"listed, key", `["client_secret_basic", "private_key_jwt"]`, `"client_key": "${env.KEY}"`, strategies.ClientAuthPrivateKeyJWT},
		{"listed, key and no secret", `["private_key_jwt"]`, `"client_key": "${env.KEY}"`, strategies.ClientAuthPrivateKeyJWT},
		{"listed, no key", `["client_secret_basic", "private_key_jwt"]`, `"client_secret": "${env.ACME_SECRET}"`, strategies.ClientAuthBasic},
		{"not listed, key", `["client_secret_post"]`, `"client_key": "${env.KEY}", "client_secret": "${env.ACME_SECRET}"`, strategies.ClientAuthPost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"issuer": %q, "authorization_endpoint": "%s/a", "token_endpoint": "%s/t", "jwks_uri": "%s/k", "token_endpoint_auth_methods_supported": %s}`,
					srv.URL, srv.URL, srv.URL, srv.URL, tt.methods)
			}))
			defer srv.Close()
			file := fmt.Sprintf(`{"base_uri": "https://app.test", "strategies": {"dex": {"extends": "oidc", "issuer": %q, "client_id": "c", %s}}}`, srv.URL, tt.keys)
			plan, err := strategies.Parse("d.json", []byte(file))
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(t, plan, engine.Options{HTTPClient: srv.Client(), LookupEnv: keyEnv(keyPEM)})
			if got := e.Strategy("dex").ClientAuth("token"); got != tt.want {
				t.Fatalf("ClientAuth(token) = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestClientKeyErrors: a client_key that is not a usable private key
// stops engine.New with an error naming the field and what is wrong,
// never quoting the key.
func TestClientKeyErrors(t *testing.T) {
	t.Parallel()
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	const marker = "TOPSECRETKEYMATERIAL"
	garbage := "-----BEGIN PRIVATE KEY-----\n" + marker + "\n-----END PRIVATE KEY-----\n"
	cert := "-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n"
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224DER, _ := x509.MarshalECPrivateKey(p224)
	tests := []struct {
		name, pem, want string
	}{
		{"not PEM", marker, "not a PEM private key"},
		{"broken PEM", garbage, "not a PEM private key"},
		{"a certificate", cert, `"CERTIFICATE" is not a private key`},
		{"weak RSA", pemOf(t, weak), "1024 bits is too short"},
		{"P-224", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p224DER})), "curve"},
	}
	file := `{"base_uri": "https://app.test", "strategies": {"acme": {
		"auth_uri": "https://idp.test/authorize", "client_id": "c", "scope": "read", "client_key": "${env.KEY}",
		"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "client_auth": "private_key_jwt",
		           "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}"}},
		          {"name": "jwt", "uri": "https://idp.test/me"}]}}}`
	plan, err := strategies.Parse("k.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.New(plan, engine.Options{LookupEnv: keyEnv(tt.pem)})
			if err == nil || !strings.Contains(err.Error(), "client_key: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming client_key and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), marker) || strings.Contains(err.Error(), "MII") {
				t.Fatalf("the error quotes the key: %v", err)
			}
			if !strings.Contains(err.Error(), `k.json: strategy "acme"`) {
				t.Errorf("the error does not name the file and strategy: %v", err)
			}
		})
	}
	_, err = engine.New(plan, engine.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil || !strings.Contains(err.Error(), "environment variable KEY is not set") {
		t.Fatalf("unset key: %v", err)
	}
	var none *engine.ProviderError
	if errors.As(err, &none) {
		t.Fatal("an unset key is not the provider's error")
	}
}
