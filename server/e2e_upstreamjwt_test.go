package server_test

// The upstream JWT (SPEC §7): /auth/verify's X-Auth-Token, verified the way
// a Go API behind authflow verifies it, against /.well-known/jwks.json.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
	"github.com/golang-jwt/jwt/v5"
)

const upstreamTTL = 10 * time.Minute

// upstreamBench is a bench whose server signs upstream JWTs with ttl,
// changed further by mod when not nil.
func upstreamBench(t *testing.T, mod func(*server.Config)) *authtest.Bench {
	t.Helper()
	return authtest.New(t, authtest.Options{Config: func(c *server.Config) {
		c.UpstreamJWT = server.UpstreamJWT{Enabled: true, TTL: upstreamTTL}
		if mod != nil {
			mod(c)
		}
	}})
}

// upstreamAPI is what a Go service behind authflow does: fetch the JWK
// Set over HTTP and verify X-Auth-Token with golang-jwt, pinning the
// algorithm, issuer and audience and requiring exp.
type upstreamAPI struct {
	keys *authtest.KeySet
	now  func() time.Time
	iss  string
	aud  string
}

// newUpstreamAPI fetches b's JWK Set from /.well-known/jwks.json (the
// bench's front mounts only /auth/, so the server is mounted at / here,
// as authflow serve does) and checks its cache header.
func newUpstreamAPI(t *testing.T, b *authtest.Bench) *upstreamAPI {
	t.Helper()
	hs := httptest.NewServer(b.App().Server)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks.json: %d: %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") || strings.Contains(cc, "no-store") {
		t.Errorf("jwks.json Cache-Control = %q, want max-age=300 and no no-store", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("jwks.json Content-Type = %q", ct)
	}
	api := &upstreamAPI{now: b.Clock.Now, iss: b.URL, aud: b.URL}
	if api.keys, err = authtest.ParseKeySet(body); err != nil { // a private key is refused too
		t.Fatalf("jwks.json: %v: %s", err, body)
	}
	var doc struct{ Keys []map[string]string }
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("jwks.json: %v: %s", err, body)
	}
	for _, k := range doc.Keys {
		if want := thumbprintEC(k); k["kid"] != want {
			t.Errorf("kid %q, want the RFC 7638 thumbprint %q", k["kid"], want)
		}
	}
	return api
}

// thumbprintEC is the RFC 7638 thumbprint of an EC JWK, written out by
// hand (§3.2: the required members in lexicographic order, no white
// space), to check the server's own computation.
func thumbprintEC(k map[string]string) string {
	sum := sha256.Sum256([]byte(`{"crv":"` + k["crv"] + `","kty":"` + k["kty"] + `","x":"` + k["x"] + `","y":"` + k["y"] + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verify checks tok as the service would and returns its claims.
func (a *upstreamAPI) verify(tok string) (jwt.MapClaims, *jwt.Token, error) {
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["kid"].(string); !ok {
			return nil, fmt.Errorf("no kid")
		}
		return a.keys.Keyfunc(t)
	}, jwt.WithValidMethods([]string{"ES256", "EdDSA", "RS256"}), jwt.WithIssuer(a.iss), jwt.WithAudience(a.aud),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(a.now))
	return claims, parsed, err
}

func numericDate(t *testing.T, c jwt.MapClaims, name string) time.Time {
	t.Helper()
	f, ok := c[name].(float64)
	if !ok {
		t.Fatalf("claim %s = %v, want a NumericDate", name, c[name])
	}
	return time.Unix(int64(f), 0)
}

func TestUpstreamJWT(t *testing.T) {
	t.Parallel()
	b := upstreamBench(t, nil)
	api := newUpstreamAPI(t, b)
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())

	p := br.Verify()
	tok := p.Header.Get("X-Auth-Token")
	if p.Status != http.StatusOK || tok == "" {
		t.Fatalf("verify: %d, X-Auth-Token %q", p.Status, tok)
	}
	claims, parsed, err := api.verify(tok)
	if err != nil {
		t.Fatalf("the upstream refuses authflow's token: %v", err)
	}
	if parsed.Header["typ"] != "JWT" || parsed.Header["alg"] != "ES256" || parsed.Header["kid"] != api.keys.Keys()[0].KID {
		t.Errorf("header %v: want typ JWT, alg ES256 (the ephemeral P-256 key), the published kid", parsed.Header)
	}
	for name, want := range map[string]any{"iss": b.URL, "aud": b.URL, "sub": authtest.Ada().ID,
		"email": authtest.Ada().Email, "strategy": "dev"} {
		if claims[name] != want {
			t.Errorf("claim %s = %v, want %v", name, claims[name], want)
		}
	}
	var groups []string
	if gs, ok := claims["groups"].([]any); ok {
		for _, g := range gs {
			s, _ := g.(string)
			groups = append(groups, s)
		}
	}
	if !slices.Equal(groups, authtest.Ada().Groups) {
		t.Errorf("claim groups = %v, want the array %v", claims["groups"], authtest.Ada().Groups)
	}
	cookie := br.Cookie("__Host-authflow_session")
	sid, _ := claims["sid"].(string)
	if sid == "" || strings.Contains(cookie, sid) || strings.Contains(sid, cookie) {
		t.Errorf("claim sid = %q: want an opaque id that is not the cookie", sid)
	}
	if jti, _ := claims["jti"].(string); len(jti) < 16 {
		t.Errorf("claim jti = %q", jti)
	}
	iat, exp := numericDate(t, claims, "iat"), numericDate(t, claims, "exp")
	if exp.Sub(iat) > upstreamTTL || exp.Sub(iat) < upstreamTTL-time.Second {
		t.Errorf("exp - iat = %s, want the ttl %s", exp.Sub(iat), upstreamTTL)
	}
	b.AssertNoSecrets("upstream JWT claims", fmt.Sprint(claims))

	// Reused while more than half of its life remains: the same token from
	// verify and from /auth/token.
	b.Clock.Advance(upstreamTTL/2 - 2*time.Second)
	if again := br.Verify().Header.Get("X-Auth-Token"); again != tok {
		t.Errorf("verify within the half-life signed a new token")
	}
	tp := br.GetWith("/auth/token", http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if tp.Status != http.StatusOK || tp.JSON()["token"] != tok {
		t.Fatalf("/auth/token: %d %s, want the verify token", tp.Status, tp.Body)
	}
	if got, want := tp.JSON()["expires_at"], exp.UTC().Format(time.RFC3339); got != want {
		t.Errorf("/auth/token expires_at = %v, want %v", got, want)
	}
	if cc := tp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("/auth/token Cache-Control = %q, want no-store", cc)
	}

	// Past half of its life: a new token, itself verifiable.
	b.Clock.Advance(3 * time.Second)
	fresh := br.Verify().Header.Get("X-Auth-Token")
	if fresh == "" || fresh == tok {
		t.Fatalf("verify past the half-life: token %q, want a new one", fresh)
	}
	fc, _, err := api.verify(fresh)
	if err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if fc["jti"] == claims["jti"] || fc["sid"] != sid {
		t.Errorf("new token: jti %v (old %v), sid %v (old %v): want a new jti, the same sid", fc["jti"], claims["jti"], fc["sid"], sid)
	}
	if br.Verify().Header.Get("X-Auth-Token") != fresh {
		t.Errorf("the new token is not reused")
	}

	// A second session of the same user has another sid.
	other := b.NewBrowser()
	other.MustLogin("dev", authtest.Ada())
	oc, _, err := api.verify(other.Verify().Header.Get("X-Auth-Token"))
	if err != nil || oc["sid"] == sid {
		t.Errorf("second session: %v, sid %v (first %v)", err, oc["sid"], sid)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestUpstreamJWTEndedSession: once a session ends, its cached token is
// never served again, not even to the cookie replayed.
func TestUpstreamJWTEndedSession(t *testing.T) {
	t.Parallel()
	b := upstreamBench(t, nil)
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	cookie := br.Cookie("__Host-authflow_session")
	if br.Verify().Header.Get("X-Auth-Token") == "" {
		t.Fatal("no X-Auth-Token")
	}
	if p := br.Post("/auth/signout"); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	thief := b.NewBrowser()
	thief.SetCookie("__Host-authflow_session", cookie)
	if p := thief.Verify(); p.Status != http.StatusUnauthorized || p.Header.Get("X-Auth-Token") != "" {
		t.Errorf("verify with the ended session's cookie: %d, X-Auth-Token %q; want 401 and none", p.Status, p.Header.Get("X-Auth-Token"))
	}
	if p := thief.Do(http.MethodGet, "/auth/token", nil, nil); p.Status != http.StatusUnauthorized || strings.Contains(p.Body, "token\"") {
		t.Errorf("/auth/token with the ended session's cookie: %d %s; want 401", p.Status, p.Body)
	}
}

// TestUpstreamJWTSessionEnd: a token never outlives its session, whether
// the session's lifetime or its idle timeout ends it first.
func TestUpstreamJWTSessionEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		idle     time.Duration
	}{
		{"lifetime", upstreamTTL - 3*time.Minute, 0},
		{"idle timeout", 24 * time.Hour, upstreamTTL - 4*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := upstreamBench(t, func(c *server.Config) { c.SessionLifetime, c.IdleTimeout = tc.lifetime, tc.idle })
			api := newUpstreamAPI(t, b)
			br := b.NewBrowser()
			start := b.Clock.Now()
			br.MustLogin("dev", authtest.Ada())
			end := start.Add(tc.lifetime)
			if tc.idle > 0 {
				end = start.Add(tc.idle)
			}
			c, _, err := api.verify(br.Verify().Header.Get("X-Auth-Token"))
			if err != nil {
				t.Fatal(err)
			}
			if exp := numericDate(t, c, "exp"); exp.After(end) || exp.Before(end.Add(-time.Second)) {
				t.Errorf("exp %s, want the session's end %s (before iat + ttl %s)", exp, end, numericDate(t, c, "iat").Add(upstreamTTL))
			}
			if tc.idle > 0 {
				return
			}
			// Near the end, what /auth/token promises stays within it too.
			b.Clock.Advance(tc.lifetime - 10*time.Second)
			tp := br.Do(http.MethodGet, "/auth/token", nil, nil)
			exp, err := time.Parse(time.RFC3339, fmt.Sprint(tp.JSON()["expires_at"]))
			if tp.Status != http.StatusOK || err != nil || exp.After(end) {
				t.Errorf("/auth/token 10s before the end: %d %s, want expires_at ≤ %s", tp.Status, tp.Body, end)
			}
			b.Clock.Advance(11 * time.Second)
			if p := br.Verify(); p.Status != http.StatusUnauthorized || p.Header.Get("X-Auth-Token") != "" {
				t.Errorf("verify after the session's end: %d, token %q", p.Status, p.Header.Get("X-Auth-Token"))
			}
		})
	}
}

// TestUpstreamJWTTokenCrossSite: /auth/token hands out the session's JWT
// only to the site's own pages.
func TestUpstreamJWTTokenCrossSite(t *testing.T) {
	t.Parallel()
	b := upstreamBench(t, nil)
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"fetch from another site", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Mode": {"cors"}}, http.StatusForbidden},
		{"fetch from a sibling subdomain", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"foreign Origin", http.Header{"Origin": {"https://evil.test"}}, http.StatusForbidden},
		{"foreign Origin claiming same-origin", http.Header{"Origin": {"https://evil.test"}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusForbidden},
		{"opaque Origin", http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"same-origin fetch", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {b.URL}}, http.StatusOK},
		{"typed into the address bar", http.Header{"Sec-Fetch-Site": {"none"}}, http.StatusOK},
		{"no browser headers", nil, http.StatusOK},
	} {
		p := br.Do(http.MethodGet, "/auth/token", nil, tc.header)
		if p.Status != tc.want {
			t.Errorf("%s: %d %.40s…, want %d", tc.name, p.Status, p.Body, tc.want)
		}
		if tc.want == http.StatusForbidden && strings.Contains(p.Body, "eyJ") {
			t.Errorf("%s: the refusal carries a token", tc.name)
		}
		if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", tc.name, cc)
		}
	}
	anon := b.NewBrowser()
	if p := anon.Do(http.MethodGet, "/auth/token", nil, nil); p.Status != http.StatusUnauthorized || p.JSON()["error"] == nil {
		t.Errorf("/auth/token without a session: %d %s, want 401 JSON", p.Status, p.Body)
	}
}

// TestUpstreamJWTDisabled: off by default, no header and no routes.
func TestUpstreamJWTDisabled(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	if p := br.Verify(); p.Status != http.StatusOK || p.Header.Get("X-Auth-Token") != "" {
		t.Errorf("verify: %d, X-Auth-Token %q; want none", p.Status, p.Header.Get("X-Auth-Token"))
	}
	if p := br.Do(http.MethodGet, "/auth/token", nil, nil); p.Status != http.StatusNotFound {
		t.Errorf("/auth/token: %d, want 404", p.Status)
	}
	rec := httptest.NewRecorder()
	b.App().Server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("jwks.json: %d, want 404", rec.Code)
	}
}
