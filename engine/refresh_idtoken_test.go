package engine_test

import (
	"errors"
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
			r, err := s.RefreshSession(t.Context(), tok, testSub, nil)
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
		r, err := s.RefreshSession(t.Context(), tok, testSub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Tokens.IDToken != tok.IDToken || r.SessionID != "" {
			t.Errorf("an unverified refresh ID token was kept (sid %q)", r.SessionID)
		}
	})
}
