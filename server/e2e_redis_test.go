package server_test

// End-to-end tests of two authflow instances sharing one Redis, behind a
// load balancer without sticky sessions: sessions, refreshes, sign-outs and
// pending logins are shared.

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/server"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testredis.Stop()
	os.Exit(code)
}

// rsRedisBench starts two instances, each with its own Redis client (as
// separate processes would have) on one key prefix.
func rsRedisBench(t *testing.T) *authtest.Bench {
	t.Helper()
	b, _, _ := rsRedisBenchKeys(t)
	return b
}

// rsRedisBenchKeys is rsRedisBench that also returns a client and the key
// prefix, to look at the keys.
func rsRedisBenchKeys(t *testing.T) (*authtest.Bench, *redis.Client, string) {
	t.Helper()
	first, prefix := testredis.Client(t) // deletes the prefix's keys at the end
	opts, err := redis.ParseURL(testredis.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	b := authtest.New(t, authtest.Options{Instances: 2, NewStore: func(t testing.TB, i int) server.Store {
		if i == 0 {
			return redisstore.New(first, prefix)
		}
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		return redisstore.New(c, prefix)
	}})
	return b, first, prefix
}

// rsKeys returns the keys under prefix+pattern.
func rsKeys(t *testing.T, c *redis.Client, pattern string) []string {
	t.Helper()
	keys, err := c.Keys(t.Context(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// rsDirect returns a client for an instance's own address, sending the
// browser's session cookie by hand.
func rsDirect(br *authtest.Browser) (*http.Client, http.Header) {
	return &http.Client{Timeout: 30 * time.Second},
		http.Header{"Cookie": {rsCookieName + "=" + br.Cookie(rsCookieName)}}
}

// TestRedisSessionShared: a session started on instance 0 is live on
// instance 1, through the load balancer and on its own address.
func TestRedisSessionShared(t *testing.T) {
	t.Parallel()
	b := rsRedisBench(t)
	br := b.NewBrowser()
	b.Route(0)
	br.MustLogin("dev", authtest.Ada())
	b.Route(1)
	status, s := br.Session()
	user, _ := s["user"].(map[string]any)
	if status != http.StatusOK || s["strategy"] != "dev" || user["sub"] != authtest.Ada().ID || user["email"] != authtest.Ada().Email {
		t.Errorf("/auth/session on instance 1: %d %v", status, s)
	}
	if v := br.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Ada().ID || v.Header.Get("X-Auth-Groups") != "admins,devs" {
		t.Errorf("/auth/verify on instance 1: %d %v", v.Status, v.Header)
	}
	if p := br.Do(http.MethodGet, "/app/x", nil, nil); p.Status != http.StatusOK || p.JSON()["sub"] != authtest.Ada().ID {
		t.Errorf("/app/x on instance 1: %d %s", p.Status, p.Body)
	}
	c, h := rsDirect(br)
	for i, a := range b.Apps {
		if status, body, err := rsFetch(c, http.MethodGet, a.URL+"/auth/session", h); err != nil || status != http.StatusOK || !strings.Contains(body, authtest.Ada().ID) {
			t.Errorf("instance %d directly: %d %s %v", i, status, body, err)
		}
	}
	// Another browser has no session on either.
	for i := range b.Apps {
		b.Route(i)
		if v := b.NewBrowser().Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("a browser without session on instance %d: %d", i, v.Status)
		}
	}
}

// TestRedisOneRefreshAcrossInstances: after expiry, 40 requests of one
// session, 20 to each instance at once, make one refresh at the IdP: the
// Redis lock orders the instances, and the second finds the record
// refreshed.
func TestRedisOneRefreshAcrossInstances(t *testing.T) {
	t.Parallel()
	b, rc, prefix := rsRedisBenchKeys(t)
	br := b.NewBrowser()
	b.Route(0)
	br.MustLogin("dev", authtest.Ada())
	c, h := rsDirect(br)
	for round := int64(1); round <= 2; round++ {
		b.Clock.Advance(6 * time.Minute)
		errs := rsRunConcurrently(40, func(i int) error {
			path := "/auth/verify"
			if i%4 == 3 {
				path = "/auth/session"
			}
			target := b.Apps[i%2].URL + path
			status, body, err := rsFetch(c, http.MethodGet, target, h)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("instance %d %s: %d %s", i%2, path, status, body)
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
		if keys := rsKeys(t, rc, prefix+"lock:*"); len(keys) != 0 {
			t.Errorf("round %d: locks left held: %q", round, keys)
		}
	}
	if n := len(b.Logs.Entries("refreshed")); n != 2 {
		t.Errorf("%d \"refreshed\" log entries, want 2", n)
	}
	if n := len(b.Logs.Entries("refresh failed; session ended")); n != 0 {
		t.Errorf("%d refresh failures", n)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestRedisSignoutEndsEverywhere: signing out on instance 1 ends the
// session on instance 0.
func TestRedisSignoutEndsEverywhere(t *testing.T) {
	t.Parallel()
	b, rc, prefix := rsRedisBenchKeys(t)
	br := b.NewBrowser()
	b.Route(0)
	br.MustLogin("dev", authtest.Ada())
	other := b.NewBrowser()
	other.MustLogin("dev", authtest.Bob())
	c, h := rsDirect(br)
	if keys := rsKeys(t, rc, prefix+"session:*"); len(keys) != 2 {
		t.Fatalf("session records before sign-out: %q, want 2", keys)
	}

	b.Route(1)
	if p := br.Post("/auth/signout"); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out on instance 1: %d", p.Status)
	}
	// The record (with its tokens) is gone from the store, not just
	// unreachable.
	if keys := rsKeys(t, rc, prefix+"session:*"); len(keys) != 1 {
		t.Errorf("session records after sign-out: %q, want 1 (the other user's)", keys)
	}
	if n := b.IdP.Stats().Revocations; n != 1 {
		t.Errorf("revocations = %d, want 1", n)
	}
	b.Route(0)
	if v := br.Verify(); v.Status != http.StatusUnauthorized {
		t.Errorf("verify on instance 0 after sign-out on 1: %d", v.Status)
	}
	for i, a := range b.Apps {
		if status, body, err := rsFetch(c, http.MethodGet, a.URL+"/auth/verify", h); err != nil || status != http.StatusUnauthorized {
			t.Errorf("instance %d with the signed-out cookie: %d %s %v", i, status, body, err)
		}
	}
	if v := other.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Bob().ID {
		t.Errorf("another user's session: %d %v", v.Status, v.Header)
	}
}

// TestRedisLoginAcrossInstances: a login started on instance 0 finishes on
// instance 1 (the pending login is in the browser's login cookie, sealed
// with the key both read from Redis), once only: the spent state is in
// Redis, so a replay on instance 0, login cookie and all, is refused.
func TestRedisLoginAcrossInstances(t *testing.T) {
	t.Parallel()
	b, rc, prefix := rsRedisBenchKeys(t)
	br := b.NewBrowser()
	b.Route(0)
	back := br.SignIn(br.StartLogin("dev", "/app/after"), authtest.Ada())
	if keys := rsKeys(t, rc, prefix+"login:*"); len(keys) != 0 {
		t.Errorf("pending logins in Redis: %q, want none (they are in the cookie)", keys)
	}
	logins := atkLoginCookies(br)
	if len(logins) != 1 {
		t.Fatalf("login cookies: %v, want 1", logins)
	}
	b.Route(1)
	p := br.Get(back)
	if p.Status != http.StatusFound || p.Location != b.URL+"/app/after" {
		t.Fatalf("callback on instance 1: %d to %q; %s", p.Status, p.Location, p.Body)
	}
	if keys := rsKeys(t, rc, prefix+"login-spent:*"); len(keys) != 1 {
		t.Errorf("spent states in Redis after the callback: %q, want 1", keys)
	} else if ttl := rc.TTL(t.Context(), keys[0]).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Errorf("the spent state lives %v, want at most the login timeout", ttl)
	}
	b.Route(0)
	if status, s := br.Session(); status != http.StatusOK || s["strategy"] != "dev" {
		t.Errorf("/auth/session on instance 0: %d %v", status, s)
	}
	// The state was spent: replaying the callback on instance 0, with the
	// login cookie put back, fails.
	br.SetCookie(logins[0].Name, logins[0].Value)
	if p := br.Get(back); p.Status != http.StatusBadRequest {
		t.Errorf("replayed callback on instance 0: %d, want 400", p.Status)
	}
	if n := b.IdP.Stats().AuthorizationCodeGrants; n != 1 {
		t.Errorf("code grants = %d, want 1", n)
	}
}
