package server_test

// End-to-end tests of the session's life after login: access-token refresh
// (due, forced, concurrent, failing, impossible), the Require middleware,
// and the session's lifetime and idle timeout.

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/server"
	"github.com/tidwall/gjson"
)

// rsCookieName is the bench's session cookie: Config's default name with
// the __Host- prefix (the bench serves TLS, so cookies are Secure).
const rsCookieName = "__Host-authflow_session"

// rsRefreshToken returns the refresh token of the IdP's newest token
// answer; it fails the test when there is none.
func rsRefreshToken(t *testing.T, b *authtest.Bench) string {
	t.Helper()
	rt := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "refresh_token").String()
	if rt == "" {
		t.Fatalf("the IdP's last token answer has no refresh_token: %s", b.Tokens.Last("/oauth/token"))
	}
	return rt
}

// rsExpiry returns /auth/session's access_token_expires_at.
func rsExpiry(t *testing.T, br *authtest.Browser) time.Time {
	t.Helper()
	status, s := br.Session()
	if status != http.StatusOK {
		t.Fatalf("/auth/session: %d %v", status, s)
	}
	raw, _ := s["access_token_expires_at"].(string)
	exp, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		t.Fatalf("/auth/session access_token_expires_at %q: %v (session %v)", raw, err, s)
	}
	return exp
}

// rsFetch sends one request with c, safe to call from any goroutine (it
// returns errors instead of failing the test).
func rsFetch(c *http.Client, method, target string, header http.Header) (int, string, error) {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		return 0, "", err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// rsIdPPost POSTs form to the IdP's path as the Basic client (RFC 6749
// §2.3.1 form-encoding of id and secret), bypassing authflow.
func rsIdPPost(t *testing.T, b *authtest.Bench, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.IdPURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(authtest.BasicClient), url.QueryEscape(authtest.BasicSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// rsRunConcurrently runs fn(0..n-1) in n goroutines released together and
// returns their errors.
func rsRunConcurrently(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// rsGrants returns the IdP's refresh_token grant count.
func rsGrants(b *authtest.Bench) int64 { return b.IdP.Stats().RefreshTokenGrants }

// TestRefreshAfterExpiryRotates: an expired access token is refreshed on
// the next verify, the rotated refresh token is stored (a second refresh
// succeeds although devidp refuses a used one), and the session's expiry
// moves forward. For client_secret_basic and client_secret_post.
func TestRefreshAfterExpiryRotates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		strategy, groups string
	}{
		{"dev", "admins,devs"},
		{"devpost", "admins,devs"}, // profile asks for groups in the ID token
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{})
			br := b.NewBrowser()
			br.MustLogin(tc.strategy, authtest.Ada())
			prevRT := rsRefreshToken(t, b)
			prevExp := rsExpiry(t, br)
			if n := rsGrants(b); n != 0 {
				t.Fatalf("refresh grants after login = %d, want 0", n)
			}
			for round := int64(1); round <= 2; round++ {
				b.Clock.Advance(6 * time.Minute)
				v := br.Verify()
				if v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Ada().ID ||
					v.Header.Get("X-Auth-Strategy") != tc.strategy || v.Header.Get("X-Auth-Groups") != tc.groups {
					t.Fatalf("round %d: /auth/verify after expiry: %d %v", round, v.Status, v.Header)
				}
				if n := rsGrants(b); n != round {
					t.Fatalf("round %d: refresh grants = %d, want %d", round, n, round)
				}
				rt := rsRefreshToken(t, b)
				if rt == prevRT {
					t.Errorf("round %d: the refresh answer did not rotate the refresh token", round)
				}
				exp := rsExpiry(t, br)
				if d := exp.Sub(prevExp); d < 5*time.Minute || d > 7*time.Minute {
					t.Errorf("round %d: access_token_expires_at moved by %v (from %v to %v), want about 6m", round, d, prevExp, exp)
				}
				if !exp.After(b.Clock.Now()) {
					t.Errorf("round %d: access_token_expires_at %v is not after now %v", round, exp, b.Clock.Now())
				}
				if n := rsGrants(b); n != round {
					t.Errorf("round %d: /auth/session refreshed again: %d grants", round, n)
				}
				prevRT, prevExp = rt, exp
			}
			if n := len(b.Logs.Entries("refreshed")); n != 2 {
				t.Errorf("%d \"refreshed\" log entries, want 2", n)
			}
			if n := len(b.Logs.Entries("refresh failed; session ended")); n != 0 {
				t.Errorf("%d refresh failures logged", n)
			}
			b.AssertNoSecrets("logs", b.Logs.String())
		})
	}
}

// TestRefreshNotBeforeDue: no refresh while the access token is valid for
// longer than RefreshSkew (30s); within the skew, or after expiry, one.
func TestRefreshNotBeforeDue(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	for _, tc := range []struct {
		name    string
		advance time.Duration
		want    int64
	}{
		{"fresh", 0, 0},
		{"after 1m", time.Minute, 0},
		{"after 4m (60s left)", 4 * time.Minute, 0},
		{"after 4m40s (within the 30s skew)", 4*time.Minute + 40*time.Second, 1},
		{"after 6m (expired)", 6 * time.Minute, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := b.NewBrowser()
			br.MustLogin("dev", authtest.Ada())
			before := rsGrants(b)
			b.Clock.Advance(tc.advance)
			for i := 0; i < 4; i++ {
				if v := br.Verify(); v.Status != http.StatusOK {
					t.Fatalf("verify %d: %d", i, v.Status)
				}
			}
			if status, s := br.Session(); status != http.StatusOK {
				t.Fatalf("/auth/session: %d %v", status, s)
			}
			if got := rsGrants(b) - before; got != tc.want {
				t.Errorf("refresh grants = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRefreshConcurrent: 50 requests of one session arriving together after
// expiry — forward-auth, /auth/session and an application page behind
// Require — all succeed on exactly one refresh.
func TestRefreshConcurrent(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	for round := int64(1); round <= 2; round++ {
		b.Clock.Advance(6 * time.Minute)
		errs := rsRunConcurrently(50, func(i int) error {
			var path string
			header := http.Header{}
			switch i % 5 {
			case 0:
				path = "/auth/session"
			case 1:
				path = fmt.Sprintf("/app/c%d", i)
				header.Set("Accept", "application/json")
			default:
				path = "/auth/verify"
			}
			status, body, err := rsFetch(br.Client(), http.MethodGet, b.URL+path, header)
			if err != nil {
				return fmt.Errorf("%s: %v", path, err)
			}
			if status != http.StatusOK {
				return fmt.Errorf("%s: %d %s", path, status, body)
			}
			if path != "/auth/verify" && !strings.Contains(body, authtest.Ada().ID) {
				return fmt.Errorf("%s: body without the user: %s", path, body)
			}
			return nil
		})
		for _, err := range errs {
			if err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
		if n := rsGrants(b); n != round {
			t.Fatalf("round %d: %d refresh grants in all, want %d", round, n, round)
		}
	}
	if n := len(b.Logs.Entries("refreshed")); n != 2 {
		t.Errorf("%d \"refreshed\" log entries, want 2", n)
	}
	if v := br.Verify(); v.Status != http.StatusOK {
		t.Errorf("verify after the rounds: %d", v.Status)
	}
}

// TestRefreshForced: POST /auth/refresh refreshes whatever the expiry and
// answers like /auth/session with the new expiry; it refuses cross-site
// requests; without a session it is 401. A session that cannot refresh
// (the public client has no refresh step) gets 409 saying so and keeps its
// session.
func TestRefreshForced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		strategy   string // "" for no login
		origin     string // "" for the bench's own
		wantStatus int
		wantGrants int64
	}{
		{"dev", "dev", "", http.StatusOK, 1},
		{"devpost", "devpost", "", http.StatusOK, 1},
		{"cross-site", "dev", "https://evil.example", http.StatusForbidden, 0},
		{"no session", "", "", http.StatusUnauthorized, 0},
		{"public client without refresh step", "devpublic", "", http.StatusConflict, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{})
			br := b.NewBrowser()
			var exp0 time.Time
			if tc.strategy != "" {
				br.MustLogin(tc.strategy, authtest.Ada())
				exp0 = rsExpiry(t, br)
			}
			b.Clock.Advance(time.Minute) // not due: 4 minutes left
			origin := tc.origin
			if origin == "" {
				origin = b.URL
			}
			p := br.Do(http.MethodPost, "/auth/refresh", strings.NewReader(""), http.Header{
				"Origin": {origin}, "Content-Type": {"application/x-www-form-urlencoded"}})
			if p.Status != tc.wantStatus {
				t.Fatalf("POST /auth/refresh: %d %s, want %d", p.Status, p.Body, tc.wantStatus)
			}
			if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if n := rsGrants(b); n != tc.wantGrants {
				t.Errorf("refresh grants = %d, want %d", n, tc.wantGrants)
			}
			j := p.JSON()
			switch tc.wantStatus {
			case http.StatusOK:
				user, _ := j["user"].(map[string]any)
				if j["strategy"] != tc.strategy || user["sub"] != authtest.Ada().ID {
					t.Errorf("answer %v, want the session", j)
				}
				exp, err := time.Parse(time.RFC3339, fmt.Sprint(j["access_token_expires_at"]))
				if err != nil || exp.Sub(exp0) < 50*time.Second {
					t.Errorf("access_token_expires_at %v (was %v), want about a minute later: %v", j["access_token_expires_at"], exp0, err)
				}
				if got := rsExpiry(t, br); !got.Equal(exp) {
					t.Errorf("/auth/session expiry %v, want the refreshed %v", got, exp)
				}
			case http.StatusConflict:
				if msg := fmt.Sprint(j["error"]); !strings.Contains(msg, "cannot be refreshed") {
					t.Errorf("answer %v, want an error saying the session cannot be refreshed", j)
				}
			}
			if tc.strategy != "" {
				// Whatever the answer, the session is still there.
				if v := br.Verify(); v.Status != http.StatusOK {
					t.Errorf("verify afterwards: %d", v.Status)
				}
				b.AssertNoSecrets("answer", p.Body)
				b.AssertNoSecrets("logs", b.Logs.String())
			}
		})
	}
}

// TestRefreshFailureEndsSession: when the IdP refuses the refresh token the
// session ends everywhere, its cookie is cleared, and the log says so
// without any token.
func TestRefreshFailureEndsSession(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// spoil makes the IdP refuse the session's refresh token rt; it
		// returns the refresh grants it made itself.
		spoil func(t *testing.T, b *authtest.Bench, rt string) int64
	}{
		{"revoked at the IdP", func(t *testing.T, b *authtest.Bench, rt string) int64 {
			status, body := rsIdPPost(t, b, "/revoke", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}})
			if status != http.StatusOK {
				t.Fatalf("revoking at the IdP: %d %s", status, body)
			}
			return 0
		}},
		{"used up elsewhere (rotation)", func(t *testing.T, b *authtest.Bench, rt string) int64 {
			status, body := rsIdPPost(t, b, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			if status != http.StatusOK {
				t.Fatalf("refreshing at the IdP: %d %s", status, body)
			}
			return 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{})
			br := b.NewBrowser()
			br.MustLogin("dev", authtest.Ada())
			cookie := br.Cookie(rsCookieName)
			own := tc.spoil(t, b, rsRefreshToken(t, b))
			b.Clock.Advance(6 * time.Minute)

			v := br.Verify()
			if v.Status != http.StatusUnauthorized {
				t.Fatalf("verify with a refused refresh token: %d, want 401", v.Status)
			}
			if n := rsGrants(b) - own; n != 1 {
				t.Errorf("authflow made %d refresh grants, want 1", n)
			}
			if c := br.Cookie(rsCookieName); c != "" {
				t.Errorf("the session cookie is still set after the session ended")
			}
			if status, s := br.Session(); status != http.StatusUnauthorized {
				t.Errorf("/auth/session: %d %v, want 401", status, s)
			}
			// The old cookie, replayed, finds nothing either.
			replay := b.NewBrowser()
			replay.SetCookie(rsCookieName, cookie)
			if v := replay.Verify(); v.Status != http.StatusUnauthorized {
				t.Errorf("verify with the old cookie: %d, want 401", v.Status)
			}
			if p := replay.Do(http.MethodGet, "/app/x", nil, nil); p.Status != http.StatusUnauthorized {
				t.Errorf("/app/x with the old cookie: %d, want 401", p.Status)
			}
			if n := rsGrants(b) - own; n != 1 {
				t.Errorf("authflow made %d refresh grants after the failure, want 1 in all", n)
			}
			entries := b.Logs.Entries("refresh failed; session ended")
			if len(entries) != 1 {
				t.Fatalf("%d \"refresh failed; session ended\" log entries, want 1; log:\n%s", len(entries), b.Logs.String())
			}
			if e := entries[0]; e["strategy"] != "dev" || e["level"] != "WARN" || !strings.Contains(fmt.Sprint(e["error"]), "invalid_grant") {
				t.Errorf("log entry %v", e)
			}
			b.AssertNoSecrets("logs", b.Logs.String())
		})
	}
}

// TestRefreshWithoutRefreshToken: a session without a refresh token (the
// public client asks for no offline_access and has no refresh step)
// outlives its access token: the identity was verified at login.
func TestRefreshWithoutRefreshToken(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("devpublic", authtest.Ada())
	if rt := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "refresh_token"); rt.Exists() {
		t.Fatalf("the public client got a refresh token; the test would not test anything")
	}
	exp := rsExpiry(t, br)
	for _, d := range []time.Duration{6 * time.Minute, 2 * time.Hour} {
		b.Clock.Advance(d)
		if v := br.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Ada().ID {
			t.Errorf("verify after %v: %d %v", d, v.Status, v.Header)
		}
		if got := rsExpiry(t, br); !got.Equal(exp) {
			t.Errorf("access_token_expires_at changed from %v to %v", exp, got)
		}
		if p := br.Do(http.MethodGet, "/app/", nil, nil); p.Status != http.StatusOK {
			t.Errorf("/app/ after %v: %d %s", d, p.Status, p.Body)
		}
	}
	if n := rsGrants(b); n != 0 {
		t.Errorf("refresh grants = %d, want 0", n)
	}
}

var rsHref = regexp.MustCompile(`href="([^"]+)"`)

// TestRequire: the middleware redirects a navigating browser to the login
// (and the login leads back), answers API requests with 401 JSON, and
// hands the application the signed-in user.
func TestRequire(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	for _, tc := range []struct {
		name     string
		method   string
		accept   string
		status   int
		location string
	}{
		{"navigation", http.MethodGet, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", http.StatusFound,
			b.URL + "/auth/login?return_to=%2Fapp%2Fx"},
		{"API", http.MethodGet, "", http.StatusUnauthorized, ""},
		{"JSON API", http.MethodGet, "application/json", http.StatusUnauthorized, ""},
		{"POST from a page", http.MethodPost, "text/html", http.StatusUnauthorized, ""},
	} {
		t.Run("no session/"+tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			p := br.Do(tc.method, "/app/x", nil, h)
			if p.Status != tc.status || p.Location != tc.location {
				t.Fatalf("%s /app/x: %d to %q, want %d to %q", tc.method, p.Status, p.Location, tc.status, tc.location)
			}
			if tc.status == http.StatusUnauthorized {
				if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || p.JSON()["error"] == nil {
					t.Errorf("401 answer %q %s, want a JSON error", ct, p.Body)
				}
			}
		})
	}

	t.Run("login through the chooser leads back", func(t *testing.T) {
		p := br.Get("/app/x")
		if p.Status != http.StatusFound {
			t.Fatalf("/app/x: %d", p.Status)
		}
		chooser := br.Get(p.Location)
		if chooser.Status != http.StatusOK {
			t.Fatalf("chooser: %d %s", chooser.Status, chooser.Body)
		}
		var links []string
		for _, m := range rsHref.FindAllStringSubmatch(chooser.Body, -1) {
			links = append(links, html.UnescapeString(m[1]))
		}
		if len(links) != 3 {
			t.Fatalf("chooser links %q, want one per strategy (3)", links)
		}
		var dev string
		for _, l := range links {
			u, err := url.Parse(l)
			if err != nil || u.Query().Get("return_to") != "/app/x" {
				t.Errorf("chooser link %q does not keep return_to=/app/x", l)
			}
			if err == nil && u.Path == "/auth/dev/login" {
				dev = l
			}
		}
		if dev == "" {
			t.Fatalf("no link to dev in %q", links)
		}
		start := br.Get(dev)
		if start.Status != http.StatusFound || !strings.HasPrefix(start.Location, b.IdPURL+"/authorize?") {
			t.Fatalf("GET %s: %d to %q", dev, start.Status, start.Location)
		}
		back := br.Get(br.SignIn(start.Location, authtest.Ada()))
		if back.Status != http.StatusFound || back.Location != b.URL+"/app/x" {
			t.Fatalf("callback: %d to %q, want 302 to /app/x; %s", back.Status, back.Location, back.Body)
		}
	})

	t.Run("signed in", func(t *testing.T) {
		for _, accept := range []string{"text/html", "application/json", ""} {
			h := http.Header{}
			if accept != "" {
				h.Set("Accept", accept)
			}
			p := br.Do(http.MethodGet, "/app/x", nil, h)
			if p.Status != http.StatusOK {
				t.Fatalf("/app/x (Accept %q): %d %s", accept, p.Status, p.Body)
			}
			j := p.JSON()
			groups := fmt.Sprint(j["groups"])
			if j["sub"] != authtest.Ada().ID || j["email"] != authtest.Ada().Email || j["strategy"] != "dev" || groups != "[admins devs]" || j["path"] != "/app/x" {
				t.Errorf("/app/x (Accept %q) = %v", accept, j)
			}
		}
	})
}

// TestSessionLifetime: a session ends at SessionLifetime and after
// IdleTimeout without use, server-side (a replayed cookie finds nothing).
// Both live in the session record, on the server's clock, so the bench's
// clock moves them: nothing here waits in real time.
func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	t.Run("absolute lifetime", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.SessionLifetime = 15 * time.Minute }})
		br := b.NewBrowser()
		br.MustLogin("devpublic", authtest.Ada())
		cookie := br.Cookie(rsCookieName)
		b.Clock.Advance(14 * time.Minute)
		if v := br.Verify(); v.Status != http.StatusOK {
			t.Fatalf("verify within the lifetime: %d", v.Status)
		}
		b.Clock.Advance(2 * time.Minute)
		if v := br.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("verify after the lifetime: %d, want 401", v.Status)
		}
		replay := b.NewBrowser()
		replay.SetCookie(rsCookieName, cookie)
		if status, s := replay.Session(); status != http.StatusUnauthorized {
			t.Errorf("/auth/session with the old cookie after the lifetime: %d %v, want 401", status, s)
		}
	})

	t.Run("idle timeout", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.IdleTimeout = 10 * time.Minute }})
		br := b.NewBrowser()
		br.MustLogin("devpublic", authtest.Ada())
		cookie := br.Cookie(rsCookieName)
		// Used every 5 minutes for 20: longer than the idle timeout, but
		// never idle for it.
		for i := 0; i < 4; i++ {
			b.Clock.Advance(5 * time.Minute)
			if v := br.Verify(); v.Status != http.StatusOK {
				t.Fatalf("verify %d while in use: %d", i, v.Status)
			}
		}
		b.Clock.Advance(11 * time.Minute)
		replay := b.NewBrowser()
		replay.SetCookie(rsCookieName, cookie)
		if v := replay.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("verify with the cookie after idling: %d, want 401", v.Status)
		}
		if v := br.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("verify after idling: %d, want 401", v.Status)
		}
	})

	t.Run("refresh past the lifetime ends the session", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.SessionLifetime = time.Hour }})
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		b.Clock.Advance(30 * time.Minute)
		if v := br.Verify(); v.Status != http.StatusOK {
			t.Fatalf("verify within the lifetime: %d", v.Status)
		}
		grants := rsGrants(b) // the refresh at 30 minutes
		b.Clock.Advance(31 * time.Minute)
		if v := br.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("verify past the lifetime: %d, want 401", v.Status)
		}
		if status, s := br.Session(); status != http.StatusUnauthorized {
			t.Errorf("/auth/session past the lifetime: %d %v, want 401", status, s)
		}
		// The lifetime is checked before refreshing: an ended session
		// never gets (and then loses) a new refresh token.
		if n := rsGrants(b); n != grants {
			t.Errorf("refresh grants past the lifetime: %d, want %d (none more)", n, grants)
		}
	})

	t.Run("lifetime on the server's clock, no refresh token", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.SessionLifetime = time.Hour }})
		br := b.NewBrowser()
		br.MustLogin("devpublic", authtest.Ada())
		b.Clock.Advance(61 * time.Minute)
		if v := br.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("verify past the lifetime: %d, want 401", v.Status)
		}
	})
}
