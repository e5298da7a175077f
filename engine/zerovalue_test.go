package engine_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// TestGoStrategyIsSafe: a strategy built in Go with only the fields a login
// needs gets what a strategy file gets without security switches: PKCE
// S256, a nonce (the scope holds openid) and an ID token verified against
// the IdP's keys. Its zero values are the safe ones.
func TestGoStrategyIsSafe(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	// The token endpoint hands out an ID token signed with a key the IdP
	// does not publish, under the kid of one it does: a forgery.
	forged := otherRSASigner("rsa1")
	p.handle("POST /tok", func(w http.ResponseWriter, r *http.Request) {
		now := p.clock.Now()
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "at-1", "token_type": "Bearer", "id_token": forged.sign(t, jwt.MapClaims{
			"iss": p.URL, "aud": testClientID, "sub": testSub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}, nil)})
	})
	def := strategies.Strategy{
		Name:     testStrategy,
		AuthURI:  p.URL + "/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
		ClientID: testClientID,
		BaseURI:  "https://app.test",
		Scope:    "openid email",
		Steps: []strategies.Step{
			{Name: "token", URI: p.URL + "/tok", Method: "POST", Form: map[string]string{"grant_type": "authorization_code", "code": "${auth.code}"}},
			{Name: "jwt", Decode: "${token.id_token}", Issuer: p.URL, JWKSURI: p.URL + "/jwks"},
		},
	}
	plan, err := strategies.Compile("go", def)
	if err != nil {
		t.Fatalf("strategies.Compile: %v", err)
	}
	e := newEngine(t, plan, p.options())
	s := e.Strategy(testStrategy)

	l := s.NewLogin()
	u, err := s.AuthCodeURL(l)
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(u)
	q := au.Query()
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || l.CodeVerifier == "" {
		t.Errorf("no PKCE: authorize URL %s", u)
	}
	if q.Get("nonce") == "" || l.Nonce == "" {
		t.Errorf("no nonce: authorize URL %s", u)
	}
	if got := s.RedirectURI(); got != "https://app.test/auth/acme/callback" {
		t.Errorf("RedirectURI() = %q, want the default redirect_path", got)
	}
	res, err := s.Exchange(t.Context(), l, url.Values{"code": {"c-1"}, "state": {l.State}})
	if !errors.Is(err, engine.ErrInvalidToken) {
		t.Errorf("Exchange with a forged ID token = %+v, %v; want ErrInvalidToken (the token must be verified)", res, err)
	}
}
