package engine_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// TestRefreshSessionIDToken: an id_token in a refresh answer is verified
// and must name the session's user; a nonce, when present, must be the
// login's; its sid is returned. A strategy that cannot verify it keeps the
// login's ID token.
func TestRefreshSessionIDToken(t *testing.T) {
	t.Parallel()
	claims := func(p *idp, mod func(jwt.MapClaims)) func(map[string]any) {
		return func(answer map[string]any) {
			if _, login := answer["id_token"]; login {
				return
			}
			now := p.clock.Now()
			c := jwt.MapClaims{"iss": p.URL, "aud": testClientID, "sub": testSub, "iat": now.Unix(),
				"exp": now.Add(time.Hour).Unix(), "sid": "sid-2"}
			if mod != nil {
				mod(c)
			}
			answer["id_token"] = rsaSigner().sign(p.tb, c, nil)
		}
	}
	for _, tc := range []struct {
		name    string
		mod     func(jwt.MapClaims)
		want    error
		wantSID string
	}{
		{"valid, new sid", nil, nil, "sid-2"},
		{"another sub", func(c jwt.MapClaims) { c["sub"] = "user-99" }, engine.ErrSubjectChanged, ""},
		{"another nonce", func(c jwt.MapClaims) { c["nonce"] = "not-the-logins" }, engine.ErrInvalidToken, ""},
		{"another issuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }, engine.ErrInvalidToken, ""},
		{"no exp", func(c jwt.MapClaims) { delete(c, "exp") }, engine.ErrInvalidToken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newIDP(t)
			s := p.strategy(t, oidcFile(authPost))
			tok := loggedIn(t, p, s)
			p.update(func(c *idpConfig) { c.tokenHook = claims(p, tc.mod) })
			r, err := s.RefreshSession(t.Context(), tok, testSub, nil, nil)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("RefreshSession: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				wantStep(t, err, "refresh")
				if r == nil || r.Tokens.AccessToken == tok.AccessToken {
					t.Errorf("a refused identity must still hand back the new tokens, to revoke them")
				}
				return
			}
			if r.SessionID != tc.wantSID || r.Tokens.IDToken == tok.IDToken {
				t.Errorf("sid %q (want %q), ID token replaced: %v", r.SessionID, tc.wantSID, r.Tokens.IDToken != tok.IDToken)
			}
		})
	}
	t.Run("unverifiable: old ID token kept", func(t *testing.T) {
		t.Parallel()
		p := newIDP(t)
		s := p.strategy(t, stratFile("", tokenStep(authPost),
			`{"name": "jwt", "decode": "${token.id_token}", "verify": false}`, refreshStep(authPost)))
		tok := loggedIn(t, p, s)
		p.update(func(c *idpConfig) { c.tokenHook = claims(p, func(c jwt.MapClaims) { c["sub"] = "anyone" }) })
		r, err := s.RefreshSession(t.Context(), tok, testSub, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Tokens.IDToken != tok.IDToken || r.SessionID != "" {
			t.Errorf("an unverified refresh ID token was kept (sid %q)", r.SessionID)
		}
	})
}

// TestRefreshSessionUserinfo: with refresh_userinfo the userinfo step runs
// with the new access token, its fields reach the user object and claims;
// a claim read from another login step keeps its value; a userinfo that
// names another sub is ErrSubjectMismatch.
func TestRefreshSessionUserinfo(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.handle("/other", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, map[string]any{"x": "v"}) })
	s := p.strategy(t, stratFile(`"refresh_userinfo": true, "claims": {"email": "email", "extra": "other.x"}`,
		tokenStep(authPost), jwtStepJWKS, userinfoStep, `{"name": "other", "uri": "{{IDP}}/other"}`, refreshStep(authPost)))
	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatal(err)
	}
	if res.Claims["extra"] != "v" || res.Claims["email"] != userinfoEmail {
		t.Fatalf("login claims %v", res.Claims)
	}
	hits := p.userinfoHits.Load()
	r, err := s.RefreshSession(t.Context(), res.Tokens, res.Subject(), res.User, res.Claims)
	if err != nil {
		t.Fatal(err)
	}
	if p.userinfoHits.Load() != hits+1 || r.UserinfoErr != nil {
		t.Fatalf("userinfo ran %d times (err %v), want once", p.userinfoHits.Load()-hits, r.UserinfoErr)
	}
	if r.Claims["extra"] != "v" || r.Claims["email"] != userinfoEmail || r.User == nil {
		t.Errorf("refreshed claims %v, user %s", r.Claims, r.User)
	}
	p.update(func(c *idpConfig) { c.userinfoSub = "user-99" })
	if _, err := s.RefreshSession(t.Context(), r.Tokens, res.Subject(), res.User, res.Claims); !errors.Is(err, engine.ErrSubjectMismatch) {
		t.Errorf("userinfo with another sub: %v, want ErrSubjectMismatch", err)
	}
}
