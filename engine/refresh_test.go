package engine_test

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
)

// loggedIn runs a login and returns its tokens.
func loggedIn(t *testing.T, p *idp, s *engine.Strategy) engine.Tokens {
	t.Helper()
	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if res.Tokens.RefreshToken == "" {
		t.Fatalf("login gave no refresh token: %+v", res.Tokens)
	}
	return res.Tokens
}

// TestRefresh refreshes an expired session, with and without rotation, for
// both client authentication methods.
func TestRefresh(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		auth   clientAuth
		rotate bool
	}{
		{"rotation/client_secret_post", authPost, true},
		{"rotation/client_secret_basic", authBasic, true},
		{"keep/client_secret_post", authPost, false},
		{"keep/client_secret_basic", authBasic, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.update(func(c *idpConfig) { c.auth, c.rotate = tt.auth, tt.rotate })
			s := p.strategy(t, oidcFile(tt.auth))
			if !s.CanRefresh() {
				t.Fatal("CanRefresh() = false with a refresh step")
			}
			t1 := loggedIn(t, p, s)
			p.clock.Advance(2 * time.Hour)
			if !t1.RefreshDue(p.clock.Now(), 30*time.Second) {
				t.Fatalf("tokens expiring at %v not Expired at %v", t1.Expiry, p.clock.Now())
			}

			t2, err := s.Refresh(t.Context(), t1)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			form, _ := p.lastTokenRequest()
			if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != t1.RefreshToken {
				t.Errorf("refresh form %v, want grant_type=refresh_token and the session's refresh token", form)
			}
			ans := p.lastAnswer()
			want := engine.Tokens{
				AccessToken:  ans["access_token"].(string),
				TokenType:    "Bearer",
				RefreshToken: t1.RefreshToken, // kept...
				IDToken:      t1.IDToken,      // the answer has none: kept
				Expiry:       p.clock.Now().Add(time.Hour),
				Issued:       p.clock.Now(),
			}
			if tt.rotate {
				want.RefreshToken = ans["refresh_token"].(string) // ...unless rotated
			}
			if !reflect.DeepEqual(t2, want) {
				t.Errorf("Refresh = %+v\nwant      %+v", t2, want)
			}
			if t2.AccessToken == t1.AccessToken || (tt.rotate && t2.RefreshToken == t1.RefreshToken) {
				t.Errorf("tokens not replaced: %+v -> %+v", t1, t2)
			}
			if t2.RefreshDue(p.clock.Now(), 30*time.Second) {
				t.Errorf("refreshed tokens already expired")
			}

			// The old refresh token: dead after rotation, still good when kept.
			t3, err := s.Refresh(t.Context(), t1)
			if tt.rotate {
				wantStep(t, err, "refresh")
				wantProviderError(t, err, engine.ProviderError{Step: "refresh", StatusCode: 400, Code: "invalid_grant",
					Description: "refresh token is invalid, expired or revoked"})
				if t3 != t1 {
					t.Errorf("a failed Refresh returned %+v, want the tokens it was given", t3)
				}
			} else if err != nil {
				t.Errorf("second refresh with the kept token: %v", err)
			}
			// The current one works.
			if _, err := s.Refresh(t.Context(), t2); err != nil {
				t.Errorf("refresh with the current token: %v", err)
			}
		})
	}
}

// TestRefreshWithoutExpiresIn: a refresh answer without expires_in gives a
// new access token of unknown lifetime (zero Expiry), not the old expiry.
func TestRefreshWithoutExpiresIn(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, oidcFile(authPost))
	t1 := loggedIn(t, p, s)
	p.update(func(c *idpConfig) { c.tokenHook = func(a map[string]any) { delete(a, "expires_in") } })
	t2, err := s.Refresh(t.Context(), t1)
	if err != nil {
		t.Fatal(err)
	}
	if !t2.Expiry.IsZero() || t2.RefreshDue(p.clock.Now().Add(100*time.Hour), 0) {
		t.Errorf("Expiry = %v, want zero (never Expired)", t2.Expiry)
	}
}

// TestRefreshErrors covers the refusals: nothing to refresh with, the IdP
// saying no, and an answer without an access token.
func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	t.Run("no refresh step", func(t *testing.T) {
		p := newIDP(t)
		s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS))
		if s.CanRefresh() {
			t.Error("CanRefresh() = true without a refresh step")
		}
		tok := engine.Tokens{AccessToken: "at", RefreshToken: "rt"}
		got, err := s.Refresh(t.Context(), tok)
		if !errors.Is(err, engine.ErrNoRefreshToken) || got != tok {
			t.Errorf("Refresh = %+v, %v; want the same tokens and ErrNoRefreshToken", got, err)
		}
		wantStep(t, err, "refresh")
	})
	t.Run("no refresh token", func(t *testing.T) {
		p := newIDP(t)
		s := p.strategy(t, oidcFile(authPost))
		tok := engine.Tokens{AccessToken: "at"}
		got, err := s.Refresh(t.Context(), tok)
		if !errors.Is(err, engine.ErrNoRefreshToken) || got != tok {
			t.Errorf("Refresh = %+v, %v; want the same tokens and ErrNoRefreshToken", got, err)
		}
		wantStep(t, err, "refresh")
		if n := p.tokenHits.Load(); n != 0 {
			t.Errorf("token endpoint called %d times", n)
		}
	})
	t.Run("unknown refresh token", func(t *testing.T) {
		p := newIDP(t)
		s := p.strategy(t, oidcFile(authPost))
		_, err := s.Refresh(t.Context(), engine.Tokens{AccessToken: "at", RefreshToken: "rt-forged"})
		wantStep(t, err, "refresh")
		wantProviderError(t, err, engine.ProviderError{Step: "refresh", StatusCode: 400, Code: "invalid_grant",
			Description: "refresh token is invalid, expired or revoked"})
		wantNoSecrets(t, err, "rt-forged")
	})
	t.Run("answer without access_token", func(t *testing.T) {
		p := newIDP(t)
		s := p.strategy(t, oidcFile(authPost))
		t1 := loggedIn(t, p, s)
		p.update(func(c *idpConfig) { c.tokenHook = func(a map[string]any) { delete(a, "access_token") } })
		got, err := s.Refresh(t.Context(), t1)
		if !errors.Is(err, engine.ErrBadResponse) || got != t1 {
			t.Errorf("Refresh = %+v, %v; want the same tokens and ErrBadResponse", got, err)
		}
		wantStep(t, err, "refresh")
	})
}

// TestTokensRefreshDue checks RefreshDue at and around expiry minus skew,
// and at half the life of a token shorter than twice the skew.
func TestTokensRefreshDue(t *testing.T) {
	t.Parallel()
	exp := t0.Add(time.Hour)
	tests := []struct {
		name   string
		tok    engine.Tokens
		now    time.Time
		skew   time.Duration
		expect bool
	}{
		{"no expiry is never expired", engine.Tokens{}, t0.Add(1000 * time.Hour), time.Minute, false},
		{"well before", engine.Tokens{Expiry: exp}, t0, 30 * time.Second, false},
		{"just outside the skew", engine.Tokens{Expiry: exp}, exp.Add(-31 * time.Second), 30 * time.Second, false},
		{"exactly at expiry minus skew", engine.Tokens{Expiry: exp}, exp.Add(-30 * time.Second), 30 * time.Second, true},
		{"inside the skew", engine.Tokens{Expiry: exp}, exp.Add(-10 * time.Second), 30 * time.Second, true},
		{"after expiry, no skew", engine.Tokens{Expiry: exp}, exp.Add(time.Second), 0, true},
		{"at expiry, no skew", engine.Tokens{Expiry: exp}, exp, 0, true},
		{"a second before, no skew", engine.Tokens{Expiry: exp}, exp.Add(-time.Second), 0, false},
		{"long-lived, issued known: the skew rule", engine.Tokens{Issued: t0, Expiry: exp}, exp.Add(-30 * time.Second), 30 * time.Second, true},
		{"5 s token, 1 s in: not due", engine.Tokens{Issued: t0, Expiry: t0.Add(5 * time.Second)}, t0.Add(time.Second), 30 * time.Second, false},
		{"5 s token, 2 s in: not due", engine.Tokens{Issued: t0, Expiry: t0.Add(5 * time.Second)}, t0.Add(2 * time.Second), 30 * time.Second, false},
		{"5 s token, half gone: due", engine.Tokens{Issued: t0, Expiry: t0.Add(5 * time.Second)}, t0.Add(2500 * time.Millisecond), 30 * time.Second, true},
		{"59 s token, 20 s in: not due", engine.Tokens{Issued: t0, Expiry: t0.Add(59 * time.Second)}, t0.Add(20 * time.Second), 30 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.RefreshDue(tt.now, tt.skew); got != tt.expect {
				t.Errorf("RefreshDue(%v, %v) with expiry %v = %v, want %v", tt.now, tt.skew, tt.tok.Expiry, got, tt.expect)
			}
		})
	}
}

// TestRevoke runs the revoke step with the session's tokens.
func TestRevoke(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, ref, hint string
		auth            clientAuth
		want            func(engine.Tokens) string
	}{
		{"refresh token", "${refresh_token}", "refresh_token", authPost, func(tk engine.Tokens) string { return tk.RefreshToken }},
		{"access token", "${access_token}", "access_token", authPost, func(tk engine.Tokens) string { return tk.AccessToken }},
		{"refresh token, client_secret_basic", "${refresh_token}", "refresh_token", authBasic, func(tk engine.Tokens) string { return tk.RefreshToken }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.update(func(c *idpConfig) { c.auth = tt.auth })
			s := p.strategy(t, stratFile("", tokenStep(tt.auth), jwtStepJWKS, refreshStep(tt.auth), revokeStep(tt.auth, tt.ref, tt.hint)))
			tok := loggedIn(t, p, s)
			if err := s.Revoke(t.Context(), tok); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			got := p.revocations()
			if len(got) != 1 || got[0].Get("token") != tt.want(tok) || got[0].Get("token_type_hint") != tt.hint {
				t.Fatalf("IdP revoked %v, want token=%s token_type_hint=%s", got, tt.want(tok), tt.hint)
			}
			if tt.hint == "refresh_token" {
				if _, err := s.Refresh(t.Context(), tok); err == nil {
					t.Error("the revoked refresh token still refreshes")
				}
			}
		})
	}
	t.Run("no revoke step", func(t *testing.T) {
		p := newIDP(t)
		s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS))
		if err := s.Revoke(t.Context(), engine.Tokens{AccessToken: "at", RefreshToken: "rt"}); err != nil {
			t.Errorf("Revoke without a revoke step = %v, want nil", err)
		}
		if n := p.revokeHits.Load(); n != 0 {
			t.Errorf("revoke endpoint called %d times", n)
		}
	})
	t.Run("session without the token", func(t *testing.T) {
		p := newIDP(t)
		s := p.strategy(t, oidcFile(authPost))
		// Nothing to revoke: the step is skipped (with several revoke steps,
		// a session without a refresh token still revokes its access token).
		if err := s.Revoke(t.Context(), engine.Tokens{AccessToken: "at"}); err != nil {
			t.Errorf("err = %v, want nil: a revoke step whose token the session lacks is skipped", err)
		}
		if n := p.revokeHits.Load(); n != 0 {
			t.Errorf("revoke endpoint called %d times", n)
		}
	})
	// RFC 7009 §2.2: "The content of the response body is ignored by the
	// client as all necessary information is conveyed in the response code."
	for _, tt := range []struct{ name, contentType, body string }{
		{"200 empty", "", ""},
		{"200 JSON", "application/json", "{}"},
		{"200 plain text", "text/plain", "Token revoked"},
		{"200 HTML", "text/html", "<html><body>Revoked</body></html>"},
	} {
		t.Run("2xx body is ignored: "+tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.handle("/revoke-ok", respond(http.StatusOK, tt.contentType, tt.body))
			s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS,
				postStep("revoke", "{{IDP}}/revoke-ok", authPost, `"token": "${refresh_token}"`)))
			if err := s.Revoke(t.Context(), engine.Tokens{AccessToken: "at", RefreshToken: "rt"}); err != nil {
				t.Errorf("Revoke = %v, want nil for a 200 answer", err)
			}
		})
	}
	t.Run("IdP refuses", func(t *testing.T) {
		p := newIDP(t)
		p.handle("/revoke-down", respond(http.StatusServiceUnavailable, "application/json", `{"error":"temporarily_unavailable"}`))
		s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS,
			postStep("revoke", "{{IDP}}/revoke-down", authPost, `"token": "${refresh_token}"`)))
		err := s.Revoke(t.Context(), engine.Tokens{AccessToken: "at", RefreshToken: "rt-secret"})
		wantStep(t, err, "revoke")
		wantProviderError(t, err, engine.ProviderError{Step: "revoke", StatusCode: 503, Code: "temporarily_unavailable"})
		wantNoSecrets(t, err, "rt-secret")
	})
}

// TestLogoutURL expands logout_uri with the ID token and the post-logout
// redirect, query-escaped.
func TestLogoutURL(t *testing.T) {
	t.Parallel()
	const logout = `"logout_uri": "{{IDP}}/logout?id_token_hint=${id_token}&post_logout_redirect_uri=${post_logout_redirect_uri}&client_id=${client_id}"`
	p := newIDP(t)
	s := p.strategy(t, stratFile(logout, tokenStep(authPost), jwtStepJWKS))
	for _, tt := range []struct{ name, idToken, post string }{
		{"plain", "eyJh.eyJz.c2ln", "https://app.test/bye?x=1&y=2"},
		{"hostile values stay values", "a&client_id=evil#x", "https://app.test/?next=/admin&client_id=evil"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := s.LogoutURL(tt.idToken, tt.post)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"id_token_hint": {tt.idToken}, "post_logout_redirect_uri": {tt.post}, "client_id": {testClientID}}
			if got := u.Query(); !reflect.DeepEqual(got, want) || u.Scheme+"://"+u.Host+u.Path != p.URL+"/logout" || u.Fragment != "" {
				t.Errorf("LogoutURL = %s\nquery %v, want %v", raw, got, want)
			}
			if esc := "post_logout_redirect_uri=" + url.QueryEscape(tt.post); !strings.Contains(raw, esc) {
				t.Errorf("LogoutURL %s lacks %s", raw, esc)
			}
		})
	}
	t.Run("no ID token", func(t *testing.T) {
		_, err := s.LogoutURL("", "https://app.test/")
		if !errors.Is(err, engine.ErrMissingValue) {
			t.Errorf("err = %v, want ErrMissingValue", err)
		}
		wantStep(t, err, "logout")
	})
	t.Run("no logout_uri", func(t *testing.T) {
		s := newIDP(t).strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS))
		if u, err := s.LogoutURL("a.b.c", "https://app.test/"); u != "" || err != nil {
			t.Errorf("LogoutURL = %q, %v; want \"\", nil", u, err)
		}
	})
}
