package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// TestAllowLists: /auth/verify's allowed_groups, allowed_emails and
// allowed_domains answer 403 for a signed-in user outside them, and the
// session stays.
func TestAllowLists(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	adaB, eveB := b.NewBrowser(), b.NewBrowser()
	adaB.MustLogin("dev", authtest.Ada()) // groups admins, devs; ada@example.test, verified
	eveB.MustLogin("dev", authtest.Eve()) // groups admins; eve@example.test, NOT verified
	anon := b.NewBrowser()

	tests := []struct {
		name  string
		br    *authtest.Browser
		query string
		want  int
	}{
		{"no lists", adaB, "", http.StatusOK},
		{"group matches", adaB, "allowed_groups=admins", http.StatusOK},
		{"one of several groups", adaB, "allowed_groups=ops,devs", http.StatusOK},
		{"group does not match", adaB, "allowed_groups=ops", http.StatusForbidden},
		{"group names are exact", adaB, "allowed_groups=Admins", http.StatusForbidden},
		{"email matches, any case", adaB, "allowed_emails=ADA@Example.test", http.StatusOK},
		{"email does not match", adaB, "allowed_emails=bob@example.test", http.StatusForbidden},
		{"domain matches", adaB, "allowed_domains=example.test", http.StatusOK},
		{"domain with @", adaB, "allowed_domains=@example.test", http.StatusOK},
		{"parent domain is not the domain", adaB, "allowed_domains=test", http.StatusForbidden},
		{"subdomain is not the domain", adaB, "allowed_domains=sub.example.test", http.StatusForbidden},
		{"each list must match", adaB, "allowed_groups=admins&allowed_domains=evil.test", http.StatusForbidden},
		{"all lists match", adaB, "allowed_groups=devs&allowed_emails=ada@example.test&allowed_domains=example.test", http.StatusOK},
		{"repeated parameter", adaB, "allowed_groups=ops&allowed_groups=devs", http.StatusOK},
		{"unverified email never matches an email", eveB, "allowed_emails=eve@example.test", http.StatusForbidden},
		{"unverified email never matches a domain", eveB, "allowed_domains=example.test", http.StatusForbidden},
		{"unverified email still passes a group rule", eveB, "allowed_groups=admins", http.StatusOK},
		{"no session is 401, not 403", anon, "allowed_groups=admins", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.br.Do(http.MethodGet, "/auth/verify?"+tc.query, nil, nil)
			if p.Status != tc.want {
				t.Fatalf("/auth/verify?%s: %d, want %d", tc.query, p.Status, tc.want)
			}
			if tc.want == http.StatusForbidden && p.Header.Get("X-Auth-User") != "" {
				t.Errorf("403 carries X-Auth-User %q", p.Header.Get("X-Auth-User"))
			}
			if tc.want == http.StatusOK && tc.br == adaB && p.Header.Get("X-Auth-Groups") != "admins,devs" {
				t.Errorf("X-Auth-Groups = %q", p.Header.Get("X-Auth-Groups"))
			}
		})
	}
	// A 403 leaves the session alone.
	if p := adaB.Verify(); p.Status != http.StatusOK {
		t.Errorf("verify after a 403: %d", p.Status)
	}
	// For Traefik and Caddy (?redirect=true) the 403 is a page.
	p := adaB.Do(http.MethodGet, "/auth/verify?redirect=true&allowed_groups=ops", nil, nil)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Access denied") || p.Ref() == "" {
		t.Errorf("redirect=true, forbidden: %d %s", p.Status, p.Body)
	}
}

// TestRequireAllowed: the same rules per route in the Go middleware.
func TestRequireAllowed(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	tests := []struct {
		name   string
		user   *authtest.Browser
		accept string
		want   int
		body   string
	}{
		{"allowed user", b.NewBrowser(), "", http.StatusOK, "admin area"},
		{"not in the group", b.NewBrowser(), "", http.StatusForbidden, `"error":"not allowed"`},
		{"not in the group, browser", b.NewBrowser(), "text/html", http.StatusForbidden, "Access denied"},
		{"unverified email", b.NewBrowser(), "", http.StatusForbidden, `"error":"not allowed"`},
	}
	tests[0].user.MustLogin("dev", authtest.Ada())
	tests[1].user.MustLogin("dev", authtest.Bob())
	tests[2].user.MustLogin("dev", authtest.Bob())
	tests[3].user.MustLogin("dev", authtest.Eve())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.user.Do(http.MethodGet, "/admin/", nil, http.Header{"Accept": {tc.accept}})
			if p.Status != tc.want || !strings.Contains(p.Body, tc.body) {
				t.Errorf("/admin/: %d %q, want %d with %q", p.Status, p.Body, tc.want, tc.body)
			}
			if v := tc.user.Verify(); v.Status != http.StatusOK {
				t.Errorf("session after /admin/: verify %d", v.Status)
			}
		})
	}
	if p := b.NewBrowser().Get("/admin/"); p.Status != http.StatusFound || !strings.Contains(p.Location, "/auth/login?return_to=%2Fadmin%2F") {
		t.Errorf("/admin/ without a session: %d to %q", p.Status, p.Location)
	}
}

// withLogoutURI is the bench's strategy file with RP-initiated logout on
// the dev strategy, at the IdP's end_session endpoint.
var withLogoutURI = strings.Replace(authtest.DefaultStrategies, `"client_id": "basic-app",`,
	`"client_id": "basic-app",
      "logout_uri": "${idp}/end_session?id_token_hint=${id_token}&post_logout_redirect_uri=${post_logout_redirect_uri}&client_id=${client_id}",`, 1)

// TestRPInitiatedLogout: after the local sign-out the browser goes to the
// IdP's end_session endpoint with the ID token as hint, and the IdP sends it
// back to signout_success.
func TestRPInitiatedLogout(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: withLogoutURI})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	idToken := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "id_token").String()

	p := br.Post("/auth/signout")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, b.IdPURL+"/end_session?") {
		t.Fatalf("sign-out: %d to %q, want 303 to the IdP's end_session", p.Status, p.Location)
	}
	u, _ := url.Parse(p.Location)
	q := u.Query()
	if q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != b.URL+"/signed-out" || q.Get("client_id") != authtest.BasicClient {
		t.Errorf("end_session query = %v", q)
	}
	if status, _ := br.Session(); status != http.StatusUnauthorized {
		t.Errorf("local session after sign-out: %d, want 401", status)
	}
	// The IdP accepts the hint and sends the browser back.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.Location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != b.URL+"/signed-out" {
		t.Errorf("IdP end_session: %d to %q, want 302 to signout_success", resp.StatusCode, loc)
	}
	// Without logout_uri (devpost) sign-out stays local.
	other := b.NewBrowser()
	other.MustLogin("devpost", authtest.Bob())
	if p := other.Post("/auth/signout"); p.Status != http.StatusSeeOther || p.Location != b.URL+"/signed-out" {
		t.Errorf("devpost sign-out: %d to %q", p.Status, p.Location)
	}
}

// TestBackchannelLogoutFromIdP: the real IdP ends a user's sessions and
// posts logout tokens; authflow ends exactly those sessions.
func TestBackchannelLogoutFromIdP(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	ada1, ada2, bobB, adaPost := b.NewBrowser(), b.NewBrowser(), b.NewBrowser(), b.NewBrowser()
	ada1.MustLogin("dev", authtest.Ada())
	ada2.MustLogin("dev", authtest.Ada())
	bobB.MustLogin("dev", authtest.Bob())
	adaPost.MustLogin("devpost", authtest.Ada()) // back-channel logout not enabled there
	for _, br := range []*authtest.Browser{ada1, ada2} {
		if _, s := br.Session(); gjson.Get(jsonString(s), "user.sid").String() == "" {
			t.Fatalf("the ID token carries no sid: %v", s)
		}
	}

	n, err := b.IdP.EndSessions(context.Background(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 || b.IdP.Stats().BackchannelLogoutFailures != 0 {
		t.Fatalf("IdP delivered %d logout tokens (failures %d), want one per dev session",
			n, b.IdP.Stats().BackchannelLogoutFailures)
	}
	for name, br := range map[string]*authtest.Browser{"ada's first": ada1, "ada's second": ada2} {
		if p := br.Verify(); p.Status != http.StatusUnauthorized {
			t.Errorf("%s dev session after back-channel logout: verify %d, want 401", name, p.Status)
		}
	}
	if p := bobB.Verify(); p.Status != http.StatusOK {
		t.Errorf("bob's session: verify %d, want 200", p.Status)
	}
	if p := adaPost.Verify(); p.Status != http.StatusOK {
		t.Errorf("ada's devpost session (no back-channel logout there): verify %d, want 200", p.Status)
	}
	if got := len(b.Logs.Entries("back-channel logout")); got < 2 {
		t.Errorf("%d back-channel logout log entries, want one per token", got)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// jsonString encodes v for gjson.
func jsonString(v map[string]any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// rsFetchPost POSTs form with c.
func rsFetchPost(c *http.Client, target string, form url.Values) (int, string, error) {
	resp, err := c.PostForm(target, form)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// logoutClaims returns valid logout-token claims for the dev strategy.
func logoutClaims(b *authtest.Bench, sub, sid string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": b.IdPURL, "aud": authtest.BasicClient, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti":    fmt.Sprintf("jti-%d", now.UnixNano()),
		"events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// postLogout POSTs a logout token to target (default: the bench's dev
// endpoint) as an IdP would, and returns the status and body.
func postLogout(t *testing.T, b *authtest.Bench, target string, form url.Values) (int, string) {
	t.Helper()
	if target == "" {
		target = b.URL + "/auth/dev/backchannel-logout"
	}
	c := b.Client()
	if strings.HasPrefix(target, "http://") {
		c = http.DefaultClient
	}
	status, body, err := rsFetchPost(c, target, form)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// TestBackchannelLogoutRules: hand-made logout tokens, each breaking one
// rule of OpenID Connect Back-Channel Logout 1.0 §2.6, are refused with
// 400 and end nothing; a valid one is accepted once.
func TestBackchannelLogoutRules(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	_, s := br.Session()
	sid := gjson.Get(jsonString(s), "user.sid").String()

	sign := func(claims map[string]any) string {
		raw, err := b.IdP.SignJWT(map[string]any{"typ": "logout+jwt"}, claims)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	forged := func(claims map[string]any) string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(claims))
		tok.Header["kid"] = "forged"
		raw, _ := tok.SignedString(key)
		return raw
	}
	with := func(change func(map[string]any)) map[string]any {
		c := logoutClaims(b, authtest.Ada().ID, sid)
		change(c)
		return c
	}
	refusals := []struct {
		name  string
		token string
	}{
		{"signed by a key the IdP never published", forged(logoutClaims(b, authtest.Ada().ID, sid))},
		{"wrong audience", sign(with(func(c map[string]any) { c["aud"] = authtest.PostClient }))},
		{"wrong issuer", sign(with(func(c map[string]any) { c["iss"] = "https://evil.example" }))},
		{"no events claim", sign(with(func(c map[string]any) { delete(c, "events") }))},
		{"nonce present", sign(with(func(c map[string]any) { c["nonce"] = "n-1" }))},
		{"no jti", sign(with(func(c map[string]any) { delete(c, "jti") }))},
		{"no iat", sign(with(func(c map[string]any) { delete(c, "iat") }))},
		{"expired", sign(with(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
		{"neither sub nor sid", sign(with(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") }))},
		{"an ID token instead", gjson.GetBytes(b.Tokens.Last("/oauth/token"), "id_token").String()},
		{"not a JWT", "not-a-jwt"},
		{"empty", ""},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postLogout(t, b, "", url.Values{"logout_token": {tc.token}})
			if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) {
				t.Fatalf("%d %s, want 400 invalid_request", status, body)
			}
			if p := br.Verify(); p.Status != http.StatusOK {
				t.Fatalf("session after a refused token: verify %d", p.Status)
			}
		})
	}
	// The cause is in the log under the reference the answer gives.
	if n := len(b.Logs.Entries("back-channel logout refused")); n != len(refusals) {
		t.Errorf("%d refusals logged, want %d", n, len(refusals))
	}

	// A valid token for another sid is accepted (200) and ends nothing.
	if status, _ := postLogout(t, b, "", url.Values{"logout_token": {sign(logoutClaims(b, authtest.Ada().ID, "another-sid"))}}); status != http.StatusOK {
		t.Errorf("valid token for another sid: %d, want 200", status)
	}
	if p := br.Verify(); p.Status != http.StatusOK {
		t.Errorf("session after another sid's logout: verify %d", p.Status)
	}
	// A sid with another user's sub does not end ada's session.
	if status, _ := postLogout(t, b, "", url.Values{"logout_token": {sign(logoutClaims(b, authtest.Bob().ID, sid))}}); status != http.StatusOK {
		t.Errorf("sid with bob's sub: %d", status)
	}
	if p := br.Verify(); p.Status != http.StatusOK {
		t.Errorf("session after a sid/sub mismatch: verify %d", p.Status)
	}

	// The right sid ends the session; the same token again is a replay.
	valid := sign(logoutClaims(b, "", sid))
	if status, body := postLogout(t, b, "", url.Values{"logout_token": {valid}}); status != http.StatusOK {
		t.Fatalf("valid logout token: %d %s", status, body)
	}
	if p := br.Verify(); p.Status != http.StatusUnauthorized {
		t.Errorf("session after its logout token: verify %d, want 401", p.Status)
	}
	if status, _ := postLogout(t, b, "", url.Values{"logout_token": {valid}}); status != http.StatusBadRequest {
		t.Errorf("replayed logout token: %d, want 400", status)
	}
	if !strings.Contains(b.Logs.String(), "replayed") {
		t.Error("the replay's cause is not logged")
	}

	// Strategies without "backchannel_logout": true have no such endpoint.
	if status, _ := postLogout(t, b, b.URL+"/auth/devpost/backchannel-logout", url.Values{"logout_token": {valid}}); status != http.StatusNotFound {
		t.Errorf("devpost endpoint: %d, want 404", status)
	}
	if p := br.Do(http.MethodGet, "/auth/dev/backchannel-logout", nil, nil); p.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", p.Status)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestBackchannelLogoutBySub: a token with a sub and no sid ends every
// session of that user in the strategy, and no one else's.
func TestBackchannelLogoutBySub(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	a1, a2, bb := b.NewBrowser(), b.NewBrowser(), b.NewBrowser()
	a1.MustLogin("dev", authtest.Ada())
	a2.MustLogin("dev", authtest.Ada())
	bb.MustLogin("dev", authtest.Bob())
	raw, err := b.IdP.SignJWT(nil, logoutClaims(b, authtest.Ada().ID, ""))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := postLogout(t, b, "", url.Values{"logout_token": {raw}}); status != http.StatusOK {
		t.Fatalf("logout by sub: %d %s", status, body)
	}
	for i, br := range []*authtest.Browser{a1, a2} {
		if p := br.Verify(); p.Status != http.StatusUnauthorized {
			t.Errorf("ada's session %d: verify %d, want 401", i+1, p.Status)
		}
	}
	if p := bb.Verify(); p.Status != http.StatusOK {
		t.Errorf("bob's session: verify %d, want 200", p.Status)
	}
}

// TestRedisBackchannelLogoutAcrossInstances: a logout token received by
// one instance ends a session another instance serves.
func TestRedisBackchannelLogoutAcrossInstances(t *testing.T) {
	t.Parallel()
	b := rsRedisBench(t)
	br := b.NewBrowser()
	b.Route(0)
	br.MustLogin("dev", authtest.Ada())
	_, s := br.Session()
	sid := gjson.Get(jsonString(s), "user.sid").String()
	raw, err := b.IdP.SignJWT(nil, logoutClaims(b, authtest.Ada().ID, sid))
	if err != nil {
		t.Fatal(err)
	}
	// Straight to instance 1's own address, as the IdP's POST may land.
	if status, body := postLogout(t, b, b.Apps[1].URL+"/auth/dev/backchannel-logout", url.Values{"logout_token": {raw}}); status != http.StatusOK {
		t.Fatalf("logout at instance 1: %d %s", status, body)
	}
	c, h := rsDirect(br)
	status, _, err := rsFetch(c, http.MethodGet, b.Apps[0].URL+"/auth/verify", h)
	if err != nil || status != http.StatusUnauthorized {
		t.Errorf("verify at instance 0 after logout at instance 1: %d %v, want 401", status, err)
	}
	// The jti is remembered across instances too.
	if status, _ := postLogout(t, b, b.Apps[0].URL+"/auth/dev/backchannel-logout", url.Values{"logout_token": {raw}}); status != http.StatusBadRequest {
		t.Errorf("the same token at instance 0: %d, want 400 (replay)", status)
	}
}
