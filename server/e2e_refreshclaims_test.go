package server_test

// Claims stay fresh on refresh: an id_token in a refresh answer is
// verified, must name the session's user, and its sid is indexed for
// back-channel logout; with refresh_userinfo, userinfo runs again and the
// claims are derived anew.

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/authtest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// rcBench is a bench whose IdP answers pass through tok (the token
// endpoint's) and info (userinfo's) rewriters, serving strategies (""
// for the default ones).
func rcBench(t *testing.T, strategies string) (*authtest.Bench, *authtest.Rewriter, *authtest.Rewriter) {
	tok, info := authtest.NewRewriter("/oauth/token"), authtest.NewRewriter("/userinfo")
	b := authtest.New(t, authtest.Options{Strategies: strategies, Tamper: func(req *http.Request, body []byte) []byte {
		return info.Tamper(req, tok.Tamper(req, body))
	}})
	return b, tok, info
}

// withIDToken returns a rewrite that puts raw in a token answer as its
// id_token.
func withIDToken(raw string) func([]byte) []byte {
	return func(body []byte) []byte {
		var doc map[string]any
		if json.Unmarshal(body, &doc) != nil {
			return body
		}
		doc["id_token"] = raw
		out, _ := json.Marshal(doc)
		return out
	}
}

// rcClaims are an ID token's claims for ada at the bench's IdP, issued now.
func rcClaims(b *authtest.Bench, sub, sid string) map[string]any {
	now := b.Clock.Now()
	c := map[string]any{"iss": b.IdPURL, "aud": authtest.BasicClient, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": authtest.Ada().Email}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// rcForceRefresh posts /auth/refresh as the app's own page does.
func rcForceRefresh(br *authtest.Browser, b *authtest.Bench) *authtest.Page {
	return br.Do(http.MethodPost, "/auth/refresh", strings.NewReader(""), http.Header{
		"Origin": {b.URL}, "Content-Type": {"application/x-www-form-urlencoded"}})
}

// rcKid returns the kid the IdP signs its ID tokens with.
func rcKid(t *testing.T, b *authtest.Bench) string {
	t.Helper()
	raw, err := b.IdP.SignJWT(nil, map[string]any{"x": 1})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	return gjson.GetBytes(h, "kid").String()
}

// TestRefreshIDTokenRefused: a refresh answer whose id_token is forged
// (signed with another key under the IdP's kid) or names another user
// (genuinely signed) ends the session: the refresh answers 401, the cookie
// no longer works, refresh_failed is logged. The forged token is never
// stored.
func TestRefreshIDTokenRefused(t *testing.T) {
	t.Parallel()
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(b *authtest.Bench) string
	}{
		{"forged signature", func(b *authtest.Bench) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(rcClaims(b, authtest.Ada().ID, "sid-forged")))
			tok.Header["kid"] = rcKid(t, b)
			raw, err := tok.SignedString(forger)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{"another user's sub", func(b *authtest.Bench) string {
			raw, err := b.IdP.SignJWT(nil, rcClaims(b, authtest.Bob().ID, ""))
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{"another audience", func(b *authtest.Bench) string {
			c := rcClaims(b, authtest.Ada().ID, "")
			c["aud"] = authtest.PostClient
			raw, err := b.IdP.SignJWT(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{"expired", func(b *authtest.Bench) string {
			c := rcClaims(b, authtest.Ada().ID, "")
			c["exp"] = b.Clock.Now().Add(-time.Hour).Unix()
			raw, err := b.IdP.SignJWT(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, tok, _ := rcBench(t, "")
			br := b.NewBrowser()
			br.MustLogin("dev", authtest.Ada())
			tok.Arm(withIDToken(tc.make(b)))
			p := rcForceRefresh(br, b)
			if tok.Applied() == 0 {
				t.Fatal("no refresh answer was rewritten")
			}
			if p.Status != http.StatusUnauthorized {
				t.Fatalf("refresh with a bad id_token: %d %s, want 401 (session ended)", p.Status, p.Body)
			}
			if v := br.Verify(); v.Status != http.StatusUnauthorized {
				t.Errorf("verify after the refused refresh: %d, want 401", v.Status)
			}
			if e := b.Logs.Entries("refresh failed; session ended"); len(e) != 1 {
				t.Errorf("session-ended log entries: %v", e)
			}
		})
	}
}

// TestRefreshNewSIDBackchannel: a refresh answer's ID token with a new sid
// (genuinely signed) is accepted, and a back-channel logout naming that
// sid ends the session.
func TestRefreshNewSIDBackchannel(t *testing.T) {
	t.Parallel()
	b, tok, _ := rcBench(t, "")
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	raw, err := b.IdP.SignJWT(nil, rcClaims(b, authtest.Ada().ID, "sid-after-refresh"))
	if err != nil {
		t.Fatal(err)
	}
	tok.Arm(withIDToken(raw))
	if p := rcForceRefresh(br, b); p.Status != http.StatusOK {
		t.Fatalf("refresh with a new sid: %d %s", p.Status, p.Body)
	}
	tok.Arm(nil)
	if v := br.Verify(); v.Status != http.StatusOK {
		t.Fatalf("verify after the refresh: %d", v.Status)
	}
	lt, err := b.IdP.SignJWT(map[string]any{"typ": "logout+jwt"}, map[string]any{
		"iss": b.IdPURL, "aud": authtest.BasicClient, "iat": b.Clock.Now().Unix(), "sid": "sid-after-refresh",
		"jti": fmt.Sprintf("rc-%d", time.Now().UnixNano()), "events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if status, body := postLogout(t, b, "", url.Values{"logout_token": {lt}}); status != http.StatusOK {
		t.Fatalf("back-channel logout by the new sid: %d %s", status, body)
	}
	if v := br.Verify(); v.Status != http.StatusUnauthorized {
		t.Errorf("verify after a back-channel logout by the refreshed sid: %d, want 401", v.Status)
	}
}

// rcUserinfoStrategies is the default dev strategy with refresh_userinfo
// and an email claim.
var rcUserinfoStrategies = strings.Replace(authtest.DefaultStrategies, `"backchannel_logout": true,`,
	`"backchannel_logout": true, "refresh_userinfo": true, "claims": {"email": "email", "email_verified": "email_verified"},`, 1)

// TestRefreshUserinfo: with refresh_userinfo, a refresh runs userinfo
// again: an email changed at the IdP reaches /auth/session and
// X-Auth-Email; a userinfo that names another sub ends the session.
func TestRefreshUserinfo(t *testing.T) {
	t.Parallel()
	t.Run("email updated", func(t *testing.T) {
		t.Parallel()
		b, _, info := rcBench(t, rcUserinfoStrategies)
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		if v := br.Verify(); v.Header.Get("X-Auth-Email") != authtest.Ada().Email {
			t.Fatalf("X-Auth-Email at login: %q", v.Header.Get("X-Auth-Email"))
		}
		info.Arm(func(body []byte) []byte {
			return []byte(strings.ReplaceAll(string(body), authtest.Ada().Email, "ada.renamed@example.test"))
		})
		before := b.IdP.Stats().UserinfoRequests
		if p := rcForceRefresh(br, b); p.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", p.Status, p.Body)
		}
		if b.IdP.Stats().UserinfoRequests != before+1 || info.Applied() != 1 {
			t.Fatalf("userinfo requests during the refresh: %d (rewritten %d), want 1", b.IdP.Stats().UserinfoRequests-before, info.Applied())
		}
		_, s := br.Session()
		if got := gjson.Get(mustJSON(t, s), "user.email").String(); got != "ada.renamed@example.test" {
			t.Errorf("/auth/session email after refresh = %q, want the new one (session %v)", got, s)
		}
		if v := br.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-Email") != "ada.renamed@example.test" {
			t.Errorf("verify after refresh: %d, X-Auth-Email %q", v.Status, v.Header.Get("X-Auth-Email"))
		}
	})
	t.Run("sub changed", func(t *testing.T) {
		t.Parallel()
		b, _, info := rcBench(t, rcUserinfoStrategies)
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		info.Arm(func(body []byte) []byte {
			return []byte(strings.ReplaceAll(string(body), authtest.Ada().ID, authtest.Bob().ID))
		})
		if p := rcForceRefresh(br, b); p.Status != http.StatusUnauthorized {
			t.Fatalf("refresh whose userinfo names another sub: %d %s, want 401", p.Status, p.Body)
		}
		if v := br.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("verify after: %d, want 401", v.Status)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
