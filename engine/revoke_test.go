package engine_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/authflow/authflow/engine"
)

// oktaFile is the built-in okta strategy with okta_uri at the test IdP:
// nothing of the catalogue's steps is changed.
const oktaFile = `{
	"base_uri": "https://app.test",
	"strategies": {
		"okta": {"okta_uri": "{{IDP}}", "client_id": "acme-client", "client_secret": "${env.ACME_SECRET}"}
	}
}`

// asOkta serves the test IdP's endpoints under Okta's paths
// ({okta_uri}/v1/…), with client_secret_basic as the catalogue's steps
// send it.
func asOkta(p *idp) {
	p.update(func(c *idpConfig) { c.auth = authBasic })
	p.handle("/v1/token", p.handleToken)
	p.handle("GET /v1/keys", p.handleJWKS)
	p.handle("/v1/userinfo", p.handleUserinfo)
	p.handle("/v1/revoke", p.handleRevoke)
}

// TestOktaSignoutRevokesBothTokens: Okta's /v1/revoke takes one token and
// revoking an access token leaves its refresh token alive, so the built-in
// okta revokes the refresh token ("revoke") and the access token
// ("revoke_access_token") at sign-out, each with its token_type_hint.
func TestOktaSignoutRevokesBothTokens(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	asOkta(p)
	s := newEngine(t, parseFile(t, p.URL, oktaFile), p.options()).Strategy("okta")
	l := s.NewLogin()
	u, err := s.AuthCodeURL(l)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, p.URL+"/v1/authorize?") {
		t.Fatalf("authorize URL %q", u)
	}
	cb := p.authorize(strings.Replace(u, "/v1/authorize", "/authorize", 1))
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	tok := res.Tokens
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("login tokens %+v", tok)
	}

	if err := s.Revoke(t.Context(), tok); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	got := p.revocations()
	var seen []string
	for _, f := range got {
		seen = append(seen, f.Get("token_type_hint")+"="+f.Get("token"))
	}
	want := []string{"refresh_token=" + tok.RefreshToken, "access_token=" + tok.AccessToken}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("revoked %v, want %v", seen, want)
	}
	// Both are dead at the IdP: the refresh token no longer refreshes, the
	// access token no longer reads userinfo.
	if _, err := s.Refresh(t.Context(), tok); err == nil {
		t.Error("the refresh token still refreshes after sign-out")
	}
	req, _ := http.NewRequest("GET", p.URL+"/v1/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with the access token after sign-out: %d, want 401", resp.StatusCode)
	}
}

// TestRevokeSteps: every step named revoke or revoke_… runs at sign-out,
// in file order; one that fails does not keep the next from running; one
// whose token the session lacks is skipped.
func TestRevokeSteps(t *testing.T) {
	t.Parallel()
	file := stratFile("", tokenStep(authPost), jwtStepJWKS, refreshStep(authPost),
		revokeStep(authPost, "${refresh_token}", "refresh_token"),
		postStep("revoke_access", "{{IDP}}/revoke-broken", authPost, `"token": "${access_token}", "token_type_hint": "access_token"`),
		strings.Replace(revokeStep(authPost, "${access_token}", "access_token"), `"revoke"`, `"revoke_access_again"`, 1))
	p := newIDP(t)
	p.handle("/revoke-broken", func(w http.ResponseWriter, r *http.Request) {
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "down")
	})
	s := p.strategy(t, file)
	tok := loggedIn(t, p, s)
	err := s.Revoke(t.Context(), tok)
	var se *engine.StepError
	if !errors.As(err, &se) || se.Step != "revoke_access" {
		t.Fatalf("Revoke = %v, want the failure of step revoke_access", err)
	}
	if strings.Contains(err.Error(), tok.AccessToken) || strings.Contains(err.Error(), tok.RefreshToken) {
		t.Errorf("the error names a token: %v", err)
	}
	got := p.revocations()
	if len(got) != 2 || got[0].Get("token") != tok.RefreshToken || got[1].Get("token") != tok.AccessToken {
		t.Fatalf("revoked %v, want the refresh token then (after the failed step) the access token", got)
	}

	// No refresh token: "revoke" has nothing to revoke, the others run.
	p2 := newIDP(t)
	s2 := p2.strategy(t, strings.Replace(file, "/revoke-broken", "/revoke", 1))
	tok2 := loggedIn(t, p2, s2)
	tok2.RefreshToken = ""
	if err := s2.Revoke(t.Context(), tok2); err != nil {
		t.Fatalf("Revoke without a refresh token: %v", err)
	}
	if got := p2.revocations(); len(got) != 2 || got[0].Get("token") != tok2.AccessToken {
		t.Fatalf("revoked %v, want the access token twice", got)
	}
}
