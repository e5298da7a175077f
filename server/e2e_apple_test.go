package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/authtest"
	"github.com/golang-jwt/jwt/v5"
)

// appleAPI answers, in the place of appleid.apple.com, the token and keys
// requests of the built-in apple: /auth/token checks the client secret
// with the team key's public half (ES256, kid, iss, sub, aud, exp) and
// answers with an ID token signed with Apple's RSA key, published at
// /auth/keys.
type appleAPI struct {
	t     *testing.T
	team  *ecdsa.PublicKey
	idp   *rsa.PrivateKey
	nonce string

	mu      sync.Mutex
	secrets []string
}

func (a *appleAPI) answer(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "appleid.apple.com" {
		return nil, nil
	}
	reply := func(status int, v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(string(b))), Request: req}, nil
	}
	switch req.URL.Path {
	case "/auth/revoke":
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
	case "/auth/keys":
		enc := base64.RawURLEncoding.EncodeToString
		return reply(http.StatusOK, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "apple1", "use": "sig", "alg": "RS256",
			"n": enc(a.idp.N.Bytes()), "e": enc(big.NewInt(int64(a.idp.E)).Bytes())}}})
	case "/auth/token":
		body, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(body))
		secret := form.Get("client_secret")
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(secret, claims, func(*jwt.Token) (any, error) { return a.team, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("ABCDE12345"), jwt.WithSubject("com.example.web"),
			jwt.WithAudience("https://appleid.apple.com"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		if err != nil || tok.Header["kid"] != "KEY1234567" {
			a.t.Errorf("client secret refused: %v", err)
			return reply(http.StatusBadRequest, map[string]any{"error": "invalid_client"})
		}
		a.mu.Lock()
		a.secrets = append(a.secrets, secret)
		a.mu.Unlock()
		now := time.Now()
		id := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://appleid.apple.com", "aud": "com.example.web",
			"sub": "001234.abcdef.1234", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "nonce": a.nonce,
			"email": "x7k2@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true"})
		id.Header["kid"] = "apple1"
		raw, err := id.SignedString(a.idp)
		if err != nil {
			a.t.Fatal(err)
		}
		return reply(http.StatusOK, map[string]any{"access_token": "apple-access-token-1", "token_type": "Bearer", "expires_in": 3600,
			"refresh_token": "apple-refresh-token-1", "id_token": raw})
	}
	return reply(http.StatusNotFound, map[string]any{})
}

// TestE2EAppleSecretNeverShown signs in with the built-in apple through
// the server (the callback's code and state sent as a query here; Apple
// posts them with response_mode=form_post): the client secret authflow
// signs is accepted by the stand-in Apple, and neither it nor the private
// key reaches /auth/session, /auth/verify's headers or the logs.
func TestE2EAppleSecretNeverShown(t *testing.T) {
	t.Parallel()
	team, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(team)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	api := &appleAPI{t: t, team: &team.PublicKey, idp: idp}
	b := authtest.New(t, authtest.Options{Intercept: api.answer})
	eng := b.NewEngine(t, `{"strategies": {"apple": {"client_id": "com.example.web", "team_id": "ABCDE12345", "key_id": "KEY1234567"}}}`,
		func(o *engine.Options) {
			o.LookupEnv = func(k string) (string, bool) { return keyPEM, k == "APPLE_PRIVATE_KEY" }
		})
	if err := b.App().Server.SetEngine(eng); err != nil {
		t.Fatal(err)
	}
	// The key's base64 lines are secrets too: no line of it may show.
	for _, line := range strings.Split(keyPEM, "\n") {
		if !strings.HasPrefix(line, "-----") {
			b.Tokens.Add(line)
		}
	}
	br := b.NewBrowser()
	p := br.Get("/auth/apple/login")
	loc, err := url.Parse(p.Location)
	if p.Status != http.StatusFound || err != nil || loc.Host != "appleid.apple.com" || loc.Query().Get("response_mode") != "form_post" {
		t.Fatalf("login: %d to %q", p.Status, p.Location)
	}
	api.nonce = loc.Query().Get("nonce")
	// Apple answers with response_mode=form_post: the browser POSTs code
	// and state from appleid.apple.com.
	cb := fpPost(br, b, b.URL+"/auth/apple/callback", url.Values{"code": {"apple-code"}, "state": {loc.Query().Get("state")}})
	if cb.Status != http.StatusFound && cb.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", cb.Status, cb.Body)
	}
	api.mu.Lock()
	n := len(api.secrets)
	api.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d client secrets accepted, want 1", n)
	}
	status, s := br.Session()
	body, _ := json.Marshal(s)
	if status != http.StatusOK || !strings.Contains(string(body), "privaterelay.appleid.com") {
		t.Fatalf("session %d %s", status, body)
	}
	b.AssertNoSecrets("/auth/session", string(body))
	v := br.Get("/auth/verify?allowed_domains=privaterelay.appleid.com")
	if v.Status != http.StatusOK {
		t.Fatalf("verify: %d (Apple's \"true\" email_verified counts)", v.Status)
	}
	hdr, _ := json.Marshal(v.Header)
	b.AssertNoSecrets("/auth/verify headers", string(hdr))
	br.Post("/auth/signout")
	b.AssertNoSecrets("logs", b.Logs.String())
}
