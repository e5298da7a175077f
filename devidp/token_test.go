package devidp_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

func TestCodeExchangeRefusals(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	tests := []struct {
		name       string
		client     string // who logs in
		auth       clientAuth
		verifier   func(f flow) string
		redirect   string
		wantStatus int
		wantError  string
	}{
		{
			name: "PKCE mismatch", client: webClient, auth: webAuth,
			verifier:   func(flow) string { return random() + random() },
			wantStatus: http.StatusBadRequest, wantError: "invalid_grant",
		},
		{
			name: "no code_verifier", client: webClient, auth: webAuth,
			verifier:   func(flow) string { return "" },
			wantStatus: http.StatusBadRequest, wantError: "invalid_request",
		},
		{
			name: "wrong secret", client: webClient, auth: clientAuth{id: webClient, secret: "nope", method: "basic"},
			wantStatus: http.StatusUnauthorized, wantError: "invalid_client",
		},
		{
			name: "basic client sends post credentials", client: webClient, auth: clientAuth{id: webClient, secret: webSecret, method: "post"},
			wantStatus: http.StatusUnauthorized, wantError: "invalid_client",
		},
		{
			name: "post client sends basic credentials", client: postClient, auth: clientAuth{id: postClient, secret: postSecret, method: "basic"},
			wantStatus: http.StatusUnauthorized, wantError: "invalid_client",
		},
		{
			name: "confidential client sends no secret", client: webClient, auth: clientAuth{id: webClient, method: "none"},
			wantStatus: http.StatusUnauthorized, wantError: "invalid_client",
		},
		{
			name: "another client's code", client: postClient, auth: webAuth,
			wantStatus: http.StatusBadRequest, wantError: "invalid_grant",
		},
		{
			name: "other redirect_uri", client: webClient, auth: webAuth, redirect: callback + "/other",
			wantStatus: http.StatusBadRequest, wantError: "invalid_grant",
		},
		{
			name: "client_secret_post accepted", client: postClient, auth: postAuth,
			wantStatus: http.StatusOK,
		},
		{
			name: "client_secret_basic accepted", client: webClient, auth: webAuth,
			wantStatus: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow()
			code := p.login(tt.client, callback, "openid", f, ada)
			verifier := f.verifier
			if tt.verifier != nil {
				verifier = tt.verifier(f)
			}
			redirect := callback
			if tt.redirect != "" {
				redirect = tt.redirect
			}
			status, body := p.exchange(code, verifier, redirect, tt.auth)
			if status != tt.wantStatus || str(body, "error") != tt.wantError {
				t.Fatalf("exchange: %d %v, want %d error %q", status, body, tt.wantStatus, tt.wantError)
			}
			if status == http.StatusOK && str(body, "id_token") == "" {
				t.Errorf("no ID token in %v", body)
			}
		})
	}
}

func TestCodeReplay(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	code := p.login(webClient, callback, "openid offline_access", f, ada)
	p.mustExchange(code, f.verifier, callback, webAuth)
	status, body := p.exchange(code, f.verifier, callback, webAuth)
	if status != http.StatusBadRequest || str(body, "error") != "invalid_grant" {
		t.Fatalf("second exchange of one code: %d %v, want 400 invalid_grant", status, body)
	}
	if got := p.Stats().AuthorizationCodeGrants; got != 2 {
		t.Errorf("AuthorizationCodeGrants = %d, want 2", got)
	}
}

func TestConcurrentCodeExchange(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	code := p.login(webClient, callback, "openid offline_access", f, ada)
	statuses := race(8, func() int {
		status, _ := p.exchange(code, f.verifier, callback, webAuth)
		return status
	})
	if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != 7 {
		t.Errorf("8 concurrent exchanges of one code: %v, want one 200 and seven 400", statuses)
	}
}

// race runs fn n times concurrently and counts the results.
func race(n int, fn func() int) map[int]int {
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		counts = map[int]int{}
		gate   = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-gate
			r := fn()
			mu.Lock()
			counts[r]++
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	return counts
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	tok := p.mustExchange(p.login(webClient, callback, fullScope, f, ada), f.verifier, callback, webAuth)
	first := str(tok, "refresh_token")

	status, next := p.refresh(first, webAuth)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, next)
	}
	second := str(next, "refresh_token")
	if second == "" || second == first {
		t.Fatalf("refresh returned refresh token %q, want a new one", second)
	}
	if str(next, "access_token") == "" || str(next, "access_token") == str(tok, "access_token") {
		t.Errorf("refresh returned no new access token: %v", next)
	}
	claims, _ := p.verifyIDToken(str(next, "id_token"), "RS256", webClient)
	if claims["sub"] != ada.ID || claims["email"] != ada.Email {
		t.Errorf("refreshed ID token claims = %v", claims)
	}
	if status, info := p.userinfo(str(next, "access_token")); status != http.StatusOK || info["sub"] != ada.ID {
		t.Errorf("userinfo with the refreshed access token: %d %v", status, info)
	}

	status, body := p.refresh(first, webAuth)
	if status != http.StatusBadRequest || str(body, "error") != "invalid_grant" {
		t.Errorf("used refresh token again: %d %v, want 400 invalid_grant", status, body)
	}
	if status, body := p.refresh(second, webAuth); status != http.StatusOK {
		t.Errorf("new refresh token: %d %v", status, body)
	}
	if status, body := p.refresh(str(next, "refresh_token"), postAuth); status != http.StatusBadRequest || str(body, "error") != "invalid_grant" {
		t.Errorf("refresh by another client: %d %v, want 400 invalid_grant", status, body)
	}
	if got := p.Stats().RefreshTokenGrants; got != 4 {
		t.Errorf("RefreshTokenGrants = %d, want 4", got)
	}
}

func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	tok := p.mustExchange(p.login(webClient, callback, fullScope, f, ada), f.verifier, callback, webAuth)
	statuses := race(8, func() int {
		status, _ := p.refresh(str(tok, "refresh_token"), webAuth)
		return status
	})
	if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != 7 {
		t.Errorf("8 concurrent refreshes with one token: %v, want one 200 and seven 400", statuses)
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	tests := []struct {
		name          string
		auth          clientAuth
		revoke        string // "access" or "refresh"
		hint          string
		wantUserinfo  int
		wantRefreshOK bool
	}{
		{"refresh token", webAuth, "refresh", "refresh_token", http.StatusForbidden, false},
		{"refresh token without hint", webAuth, "refresh", "", http.StatusForbidden, false},
		{"access token", webAuth, "access", "access_token", http.StatusForbidden, true},
		{"access token without hint", webAuth, "access", "", http.StatusForbidden, true},
		{"by a client_secret_post client", postAuth, "refresh", "", http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow()
			tok := p.mustExchange(p.login(tt.auth.id, callback, fullScope, f, ada), f.verifier, callback, tt.auth)
			token := str(tok, tt.revoke+"_token")
			if status, body := p.revoke(token, tt.hint, tt.auth); status != http.StatusOK {
				t.Fatalf("revoke: %d %v", status, body)
			}
			if status, body := p.userinfo(str(tok, "access_token")); status != tt.wantUserinfo {
				t.Errorf("userinfo after revocation: %d %v, want %d", status, body, tt.wantUserinfo)
			}
			status, body := p.refresh(str(tok, "refresh_token"), tt.auth)
			if ok := status == http.StatusOK; ok != tt.wantRefreshOK {
				t.Errorf("refresh after revocation: %d %v, want success %v", status, body, tt.wantRefreshOK)
			}
			if !tt.wantRefreshOK && str(body, "error") != "invalid_grant" {
				t.Errorf("refresh after revocation: error %q, want invalid_grant", str(body, "error"))
			}
		})
	}

	t.Run("refusals", func(t *testing.T) {
		f := newFlow()
		tok := p.mustExchange(p.login(webClient, callback, fullScope, f, ada), f.verifier, callback, webAuth)
		rt := str(tok, "refresh_token")
		for _, c := range []struct {
			name string
			auth clientAuth
			want int
		}{
			{"wrong secret", clientAuth{id: webClient, secret: "nope", method: "basic"}, http.StatusUnauthorized},
			{"basic client sends post credentials", clientAuth{id: webClient, secret: webSecret, method: "post"}, http.StatusUnauthorized},
			{"another client's token", postAuth, http.StatusUnauthorized},
		} {
			if status, body := p.revoke(rt, "", c.auth); status != c.want {
				t.Errorf("%s: revoke = %d %v, want %d", c.name, status, body, c.want)
			}
		}
		if status, body := p.refresh(rt, webAuth); status != http.StatusOK {
			t.Errorf("refused revocations revoked the token: refresh = %d %v", status, body)
		}
		if status, _ := p.revoke("not-a-token", "", webAuth); status != http.StatusOK {
			t.Errorf("revoking an unknown token: %d, want 200 (RFC 7009 §2.2)", status)
		}
	})

	if got := p.Stats().Revocations; got != int64(len(tests)+4) {
		t.Errorf("Revocations = %d, want %d", got, len(tests)+4)
	}
}

func TestAccessTokenLifetime(t *testing.T) {
	t.Parallel()
	clock := authtest.NewClock(time.Now())
	p := start(t, func(o *devidp.Options) { o.AccessTokenLifetime, o.Now = time.Minute, clock.Now })
	f := newFlow()
	tok := p.mustExchange(p.login(webClient, callback, fullScope, f, ada), f.verifier, callback, webAuth)
	if status, _ := p.userinfo(str(tok, "access_token")); status != http.StatusOK {
		t.Fatalf("userinfo with a fresh access token: %d", status)
	}
	clock.Advance(time.Minute + time.Second)
	if status, _ := p.userinfo(str(tok, "access_token")); status == http.StatusOK {
		t.Fatalf("userinfo with an expired access token: %d, want a refusal", status)
	}
	status, next := p.refresh(str(tok, "refresh_token"), webAuth)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, next)
	}
	if status, _ := p.userinfo(str(next, "access_token")); status != http.StatusOK {
		t.Errorf("userinfo with the refreshed access token: %d", status)
	}
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	endSession := func(q url.Values) *http.Response {
		t.Helper()
		resp, err := noFollow.Get(p.Issuer() + "/end_session?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	f := newFlow()
	tok := p.mustExchange(p.login(webClient, callback, fullScope, f, ada), f.verifier, callback, webAuth)
	idToken := str(tok, "id_token")

	resp := endSession(url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {signedOut}, "state": {"s1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != signedOut+"?state=s1" {
		t.Errorf("end_session: %s to %q, want 302 to %s?state=s1", resp.Status, loc, signedOut)
	}
	if status, body := p.refresh(str(tok, "refresh_token"), webAuth); status != http.StatusBadRequest {
		t.Errorf("refresh after end_session: %d %v, want 400", status, body)
	}

	resp = endSession(url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example.test/"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("end_session to an unregistered URI: %s %q, want 400", resp.Status, resp.Header.Get("Location"))
	}

	resp = endSession(url.Values{"client_id": {webClient}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != p.Issuer()+"/logged-out" {
		t.Fatalf("end_session without a post_logout_redirect_uri: %s to %q, want 302 to the logged-out page", resp.Status, loc)
	}
	page, err := http.Get(p.Issuer() + "/logged-out")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Errorf("logged-out page: %s", page.Status)
	}
}
