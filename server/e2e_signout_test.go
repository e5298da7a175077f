package server_test

// End-to-end tests of sign-out: revocation at the IdP, the session ended
// and its cookie cleared, other sessions untouched, and the sign-out
// webhook with its retries.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/server"
	"github.com/tidwall/gjson"
)

// rsSessionCookieCleared reports whether a response's Set-Cookie headers
// expire the session cookie.
func rsSessionCookieCleared(h http.Header) bool {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == rsCookieName && c.Value == "" && (c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now()))) {
			return true
		}
	}
	return false
}

// TestSignout: POST /auth/signout revokes the refresh token at the IdP (for
// a strategy with a revoke step), ends the session server-side, clears the
// cookie and redirects to signout_success; another browser's session of the
// same user lives on, and can still refresh.
func TestSignout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		strategy        string
		wantRevocations int64
	}{
		{"dev", 1},     // revoke step
		{"devpost", 0}, // no revoke step
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{})
			br := b.NewBrowser()
			br.MustLogin(tc.strategy, authtest.Ada())
			rt := rsRefreshToken(t, b)
			cookie := br.Cookie(rsCookieName)
			other := b.NewBrowser()
			other.MustLogin(tc.strategy, authtest.Ada())

			p := br.Post("/auth/signout")
			if p.Status != http.StatusSeeOther || p.Location != b.URL+"/signed-out" {
				t.Fatalf("POST /auth/signout: %d to %q, want 303 to /signed-out", p.Status, p.Location)
			}
			if !rsSessionCookieCleared(p.Header) {
				t.Errorf("sign-out does not expire the session cookie: Set-Cookie %q", p.Header.Values("Set-Cookie"))
			}
			if br.Cookie(rsCookieName) != "" {
				t.Errorf("the browser still holds a session cookie")
			}
			if n := b.IdP.Stats().Revocations; n != tc.wantRevocations {
				t.Errorf("revocations at the IdP = %d, want %d", n, tc.wantRevocations)
			}
			if status, s := br.Session(); status != http.StatusUnauthorized {
				t.Errorf("/auth/session after sign-out: %d %v", status, s)
			}
			if v := br.Verify(); v.Status != http.StatusUnauthorized {
				t.Errorf("verify after sign-out: %d", v.Status)
			}
			replay := b.NewBrowser()
			replay.SetCookie(rsCookieName, cookie)
			if v := replay.Verify(); v.Status != http.StatusUnauthorized {
				t.Errorf("verify with the signed-out cookie: %d, want 401", v.Status)
			}
			if e := b.Logs.Entries("signed out"); len(e) != 1 || e[0]["strategy"] != tc.strategy {
				t.Errorf("\"signed out\" log entries: %v", e)
			}
			if e := b.Logs.Entries("revoke failed"); len(e) != 0 {
				t.Errorf("revoke failed: %v", e)
			}

			// The other browser's session is untouched, and its own grant
			// still refreshes.
			if v := other.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Ada().ID {
				t.Errorf("the other browser's verify: %d %v", v.Status, v.Header)
			}
			before := rsGrants(b)
			b.Clock.Advance(6 * time.Minute)
			if v := other.Verify(); v.Status != http.StatusOK {
				t.Errorf("the other browser's verify after expiry: %d", v.Status)
			}
			if n := rsGrants(b) - before; n != 1 {
				t.Errorf("the other browser's refresh: %d grants, want 1", n)
			}

			if tc.strategy == "dev" {
				// The signed-out session's refresh token is dead at the IdP.
				status, body := rsIdPPost(t, b, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
				if status != http.StatusBadRequest || gjson.Get(body, "error").String() != "invalid_grant" {
					t.Errorf("refreshing with the revoked token at the IdP: %d %s, want 400 invalid_grant", status, body)
				}
			}
			b.AssertNoSecrets("logs", b.Logs.String())
		})
	}
}

// TestSignoutRefused: sign-out only by same-origin POST; a session-less
// sign-out just redirects.
func TestSignoutRefused(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		status int
	}{
		{"GET", http.MethodGet, http.Header{"Accept": {"text/html"}}, http.StatusMethodNotAllowed},
		{"HEAD", http.MethodHead, nil, http.StatusMethodNotAllowed},
		{"cross-site POST", http.MethodPost, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"POST without Origin or Referer", http.MethodPost, nil, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := br.Do(tc.method, "/auth/signout", nil, tc.header)
			if p.Status != tc.status {
				t.Fatalf("%s /auth/signout: %d, want %d", tc.method, p.Status, tc.status)
			}
			if tc.status == http.StatusMethodNotAllowed && !strings.Contains(p.Header.Get("Allow"), http.MethodPost) {
				t.Errorf("Allow %q, want POST", p.Header.Get("Allow"))
			}
			if v := br.Verify(); v.Status != http.StatusOK {
				t.Errorf("the session ended: verify %d", v.Status)
			}
		})
	}
	if n := b.IdP.Stats().Revocations; n != 0 {
		t.Errorf("revocations = %d, want 0", n)
	}

	t.Run("no session", func(t *testing.T) {
		p := b.NewBrowser().Post("/auth/signout")
		if p.Status != http.StatusSeeOther || p.Location != b.URL+"/signed-out" {
			t.Errorf("POST /auth/signout without session: %d to %q", p.Status, p.Location)
		}
		if n := b.IdP.Stats().Revocations; n != 0 {
			t.Errorf("revocations = %d, want 0", n)
		}
	})
}

// TestSignoutMethodNotAllowed: GET /auth/signout is 405 (POST only); a link
// or an <img> cannot sign anyone out.
func TestSignoutMethodNotAllowed(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	if p := br.Get("/auth/signout"); p.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET /auth/signout: %d, want 405", p.Status)
	}
	if v := br.Verify(); v.Status != http.StatusOK {
		t.Errorf("verify after GET /auth/signout: %d, want 200", v.Status)
	}
}

// rsHook is a sign-out webhook receiver answering with statuses in turn
// (the last one repeated), each once hold is closed.
type rsHook struct {
	statuses []int
	hold     chan struct{}

	mu    sync.Mutex
	posts []rsHookPost
}

type rsHookPost struct {
	method, contentType string
	body                []byte
	at                  time.Time
}

func (h *rsHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	n := len(h.posts)
	h.posts = append(h.posts, rsHookPost{r.Method, r.Header.Get("Content-Type"), body, time.Now()})
	h.mu.Unlock()
	<-h.hold
	w.WriteHeader(h.statuses[min(n, len(h.statuses)-1)])
}

func (h *rsHook) received() []rsHookPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]rsHookPost(nil), h.posts...)
}

// TestWebhook: each sign-out POSTs {"event":"signout","strategy","sub","sid",
// "time"} to the webhook, retried with backoff (200ms, 400ms) on 5xx up to
// WebhookAttempts (3) times, then logged as an error; a 4xx is final.
// Server.Close waits for deliveries in flight.
func TestWebhook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		statuses  []int
		login     bool
		wantPosts int
		failLog   bool // "signout webhook failed"
		refuseLog bool // "signout webhook refused"
	}{
		{"accepted", []int{http.StatusNoContent}, true, 1, false, false},
		{"500 twice then 200", []int{500, 500, 200}, true, 3, false, false},
		{"always 500", []int{500}, true, 3, true, false},
		{"400 is final", []int{http.StatusBadRequest}, true, 1, false, true},
		{"no session, no notice", []int{200}, false, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hook := &rsHook{statuses: tc.statuses, hold: make(chan struct{})}
			release := sync.OnceFunc(func() { close(hook.hold) })
			hs := httptest.NewServer(hook)
			t.Cleanup(hs.Close)
			b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.SignoutWebhook = hs.URL + "/hook" }})
			t.Cleanup(release) // first: Server.Close and hs.Close wait for a held delivery
			br := b.NewBrowser()
			if tc.login {
				br.MustLogin("dev", authtest.Ada())
			}
			// The hook holds its first answer until the sign-out has
			// returned: the sign-out does not wait for the webhook.
			p := br.Post("/auth/signout")
			if p.Status != http.StatusSeeOther {
				t.Fatalf("POST /auth/signout: %d", p.Status)
			}
			if n := len(hook.received()); n > 1 {
				t.Errorf("the sign-out returned after %d webhook deliveries: it waited for the webhook", n)
			}
			release()
			b.App().Server.Close() // waits for the deliveries

			posts := hook.received()
			if len(posts) != tc.wantPosts {
				t.Fatalf("webhook received %d POSTs, want %d", len(posts), tc.wantPosts)
			}
			for i, post := range posts {
				if post.method != http.MethodPost || !strings.HasPrefix(post.contentType, "application/json") {
					t.Errorf("delivery %d: %s with Content-Type %q", i, post.method, post.contentType)
				}
				var m map[string]any
				if err := json.Unmarshal(post.body, &m); err != nil {
					t.Fatalf("delivery %d: body %s: %v", i, post.body, err)
				}
				var keys []string
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if m["event"] != "signout" || m["strategy"] != "dev" || m["sub"] != authtest.Ada().ID ||
					strings.Join(keys, ",") != "event,sid,strategy,sub,time" {
					t.Errorf("delivery %d: body %s", i, post.body)
				}
				if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
					t.Errorf("delivery %d: time %v: %v", i, m["time"], err)
				}
				if i > 0 && string(post.body) != string(posts[0].body) {
					t.Errorf("delivery %d differs from the first: %s vs %s", i, post.body, posts[0].body)
				}
				b.AssertNoSecrets("webhook body", string(post.body))
			}
			// Backoff: 200ms, then 400ms, on real time inside the server
			// (notify, signout.go): a subtest takes up to 0.6s, in parallel.
			for i, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond} {
				if i+1 < len(posts) {
					if gap := posts[i+1].at.Sub(posts[i].at); gap < want-20*time.Millisecond {
						t.Errorf("gap before delivery %d: %v, want at least %v", i+1, gap, want)
					}
				}
			}
			failed := b.Logs.Entries("signout webhook failed")
			if tc.failLog {
				if len(failed) != 1 || failed[0]["level"] != "ERROR" || failed[0]["attempts"] != float64(3) {
					t.Errorf("\"signout webhook failed\" entries %v, want one ERROR with attempts 3", failed)
				}
			} else if len(failed) != 0 {
				t.Errorf("unexpected \"signout webhook failed\": %v", failed)
			}
			if refused := b.Logs.Entries("signout webhook refused"); (len(refused) == 1) != tc.refuseLog {
				t.Errorf("\"signout webhook refused\" entries %v, want %v", refused, tc.refuseLog)
			}
			if tc.login {
				b.AssertNoSecrets("logs", b.Logs.String())
			}
		})
	}
}
