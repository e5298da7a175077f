package engine_test

import (
	"context"
	"errors"
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

// Sign in with Apple test values: a Services ID, a team ID and the Key ID
// of the team's Sign in with Apple key (testKeyMaterial().ec).
const (
	appleClientID = "com.example.web"
	appleTeamID   = "ABCDE12345"
	appleKeyID    = "KEY1234567"
	appleSub      = "001234.0123456789abcdef0123456789abcdef.1234"
)

// fakeApple answers like appleid.apple.com for the parts the built-in
// "apple" uses (Sign in with Apple REST API): /auth/token checks the
// client secret as Apple does (an ES256 JWT with kid = the Key ID, iss =
// the team ID, sub = the client id, aud = https://appleid.apple.com, exp
// at most 15777000 s after iat, verified with the team key's public half)
// and answers with an ID token; /auth/keys is the JWKS; /auth/revoke
// checks the secret too.
type fakeApple struct {
	t     *testing.T
	now   func() time.Time
	nonce func() string

	mu      sync.Mutex
	secrets []string // the client secrets received, in order
	revoked []string
}

func (a *fakeApple) checkSecret(w http.ResponseWriter, r *http.Request) bool {
	r.ParseForm()
	raw := r.PostForm.Get("client_secret")
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &testKeyMaterial().ec.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(a.now), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithIssuer(appleTeamID), jwt.WithSubject(appleClientID), jwt.WithAudience("https://appleid.apple.com"))
	bad := err != nil || r.PostForm.Get("client_id") != appleClientID
	if !bad {
		exp, _ := claims.GetExpirationTime()
		iat, _ := claims.GetIssuedAt()
		bad = tok.Header["kid"] != appleKeyID || iat == nil || exp.Sub(iat.Time) > 15777000*time.Second
	}
	if bad {
		a.t.Errorf("%s: client secret refused: %v (header %v, claims %v)", r.URL.Path, err, tok.Header, claims)
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "")
		return false
	}
	a.mu.Lock()
	a.secrets = append(a.secrets, raw)
	a.mu.Unlock()
	return true
}

func (a *fakeApple) handler() http.Handler {
	mux := http.NewServeMux()
	idp := rsaSigner()
	mux.HandleFunc("POST /auth/token", func(w http.ResponseWriter, r *http.Request) {
		if !a.checkSecret(w, r) {
			return
		}
		f := r.PostForm
		switch f.Get("grant_type") {
		case "authorization_code":
			if f.Get("code") != "apple-code" || f.Get("redirect_uri") != "https://app.example.com/auth/apple/callback" || f.Has("code_verifier") {
				writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "")
				return
			}
			now := a.now()
			id := idp.sign(a.t, jwt.MapClaims{
				"iss": "https://appleid.apple.com", "aud": appleClientID, "sub": appleSub,
				"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "nonce": a.nonce(), "nonce_supported": true,
				"email": "x7k2@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true",
				"auth_time": now.Unix(),
			}, nil)
			writeJSON(w, http.StatusOK, map[string]any{"access_token": "apple-at-123456", "token_type": "Bearer", "expires_in": 3600,
				"refresh_token": "apple-rt-123456", "id_token": id})
		case "refresh_token":
			writeJSON(w, http.StatusOK, map[string]any{"access_token": "apple-at-2", "token_type": "Bearer", "expires_in": 3600})
		default:
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		}
	})
	mux.HandleFunc("GET /auth/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{idp.jwk()}})
	})
	mux.HandleFunc("POST /auth/revoke", func(w http.ResponseWriter, r *http.Request) {
		if a.checkSecret(w, r) {
			a.mu.Lock()
			a.revoked = append(a.revoked, r.PostForm.Get("token_type_hint")+":"+r.PostForm.Get("token"))
			a.mu.Unlock()
			w.WriteHeader(http.StatusOK)
		}
	})
	return mux
}

// TestBuiltinApple runs the built-in "apple" against a stand-in for
// appleid.apple.com: the authorize URL asks for form_post, the token
// exchange sends a client secret the engine signs (verified there with
// the key's public half, its claims checked), the secret is reused while
// more than half its 24 h lifetime remains and minted anew after, and
// Apple's string "true" email_verified counts as verified.
func TestBuiltinApple(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	var l *engine.Login
	fa := &fakeApple{t: t, now: clk.Now, nonce: func() string { return l.Nonce }}
	srv := httptest.NewServer(fa.handler())
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	rt := &rewriteTransport{target: target}
	keyPEM := pemOf(t, testKeyMaterial().ec)
	file := `{"base_uri": "https://app.example.com", "strategies": {"apple": {"client_id": "` + appleClientID + `", "team_id": "` + appleTeamID + `", "key_id": "` + appleKeyID + `"}}}`
	set, err := strategies.Parse("apple.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, set, engine.Options{
		HTTPClient: &http.Client{Transport: rt},
		LookupEnv:  func(k string) (string, bool) { return keyPEM, k == "APPLE_PRIVATE_KEY" },
		Now:        clk.Now,
	})
	s := e.Strategy("apple")
	ctx := context.Background()
	login := func() *engine.Result {
		t.Helper()
		l = s.NewLogin()
		u, err := s.AuthCodeURL(l)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.Parse(u)
		if q.Host != "appleid.apple.com" || q.Path != "/auth/authorize" || q.Query().Get("response_mode") != "form_post" ||
			q.Query().Get("nonce") != l.Nonce || q.Query().Has("code_challenge") || q.Query().Get("scope") != "openid name email" {
			t.Fatalf("authorize URL %s", u)
		}
		res, err := s.Exchange(ctx, l, url.Values{"code": {"apple-code"}, "state": {l.State}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := login()
	if res.Subject() != appleSub || res.Claims["email_verified"] != "true" || res.Claims["is_private_email"] != "true" {
		t.Fatalf("subject %q claims %v", res.Subject(), res.Claims)
	}
	clk.Advance(11*time.Hour + 59*time.Minute)
	login()
	if err := s.Revoke(ctx, res.Tokens); err != nil {
		t.Fatal(err)
	}
	fa.mu.Lock()
	first := append([]string(nil), fa.secrets...)
	fa.mu.Unlock()
	if len(first) != 3 || first[0] != first[1] || first[1] != first[2] {
		t.Fatalf("within half its lifetime the secret must be reused: %d secrets, equal %v", len(first), len(first) == 3 && first[0] == first[2])
	}
	clk.Advance(2 * time.Minute) // past 12 h: half of 24 h
	res = login()
	if _, err := s.Refresh(ctx, res.Tokens); err != nil {
		t.Fatal(err)
	}
	fa.mu.Lock()
	all := append([]string(nil), fa.secrets...)
	revoked := append([]string(nil), fa.revoked...)
	fa.mu.Unlock()
	if len(all) != 5 || all[3] == all[2] || all[4] != all[3] {
		t.Fatalf("past half its lifetime a new secret is minted and then reused: %d secrets", len(all))
	}
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(all[3], &c); err != nil {
		t.Fatal(err)
	}
	if iat, _ := c.GetIssuedAt(); !iat.Time.Equal(clk.Now()) {
		t.Errorf("the new secret's iat is %v, want %v", iat, clk.Now())
	}
	if len(revoked) != 1 || revoked[0] != "refresh_token:apple-rt-123456" {
		t.Errorf("revoked %v", revoked)
	}
	rt.mu.Lock()
	seen := strings.Join(rt.seen, "\n")
	rt.mu.Unlock()
	for _, want := range []string{"POST https://appleid.apple.com/auth/token", "GET https://appleid.apple.com/auth/keys", "POST https://appleid.apple.com/auth/revoke"} {
		if !strings.Contains(seen, want) {
			t.Errorf("no request %q; requests:\n%s", want, seen)
		}
	}
}

// TestAppleSecretNotInErrors: when Apple refuses the client, the error
// the engine returns (which the server logs) names the step and Apple's
// code, never the signed secret or the key.
func TestAppleSecretNotInErrors(t *testing.T) {
	t.Parallel()
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		got = append(got, r.PostForm.Get("client_secret"))
		mu.Unlock()
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "")
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	keyPEM := pemOf(t, testKeyMaterial().ec)
	file := `{"base_uri": "https://app.example.com", "strategies": {"apple": {"client_id": "c", "team_id": "T", "key_id": "K"}}}`
	set, err := strategies.Parse("apple.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	s := newEngine(t, set, engine.Options{HTTPClient: &http.Client{Transport: &rewriteTransport{target: target}},
		LookupEnv: func(k string) (string, bool) { return keyPEM, true }}).Strategy("apple")
	l := s.NewLogin()
	_, err = s.Exchange(context.Background(), l, url.Values{"code": {"c"}, "state": {l.State}})
	var pe *engine.ProviderError
	if !errors.As(err, &pe) || pe.Code != engine.CodeInvalidClient {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || len(got[0]) < 100 {
		t.Fatalf("secrets sent: %q", got)
	}
	for _, secret := range []string{got[0], keyPEM, strings.Split(got[0], ".")[2]} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("the error holds the secret or key: %v", err)
		}
	}
}
