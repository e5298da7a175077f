package server_test

// What authflow leaves in Redis over time: session indexes that do not
// grow without bound, and refresh locks that do not outlive their holder
// by long.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestSessionIndexPrunesExpired: the back-channel index of a user's
// sessions (idx:sub:…) gained a member per login and lost none when a
// session simply expired, so a long-lived user's set grew forever. A
// member is now dropped once its session's lifetime is over.
func TestSessionIndexPrunesExpired(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var rc *redis.Client
			var prefix string
			o := authtest.Options{Config: func(c *server.Config) { c.SessionLifetime = 2 * time.Minute }}
			if backend == "redis" {
				rc, prefix = testredis.Client(t)
				o.NewStore = func(t testing.TB, i int) server.Store { return redisstore.New(rc, prefix) }
			}
			b := authtest.New(t, o)
			for i := 0; i < 5; i++ {
				b.NewBrowser().MustLogin("dev", authtest.Ada())
				b.Clock.Advance(3 * time.Minute) // that session's lifetime is over
			}
			br := b.NewBrowser()
			br.MustLogin("dev", authtest.Ada())
			members := sessionIndex(t, b, rc, prefix)
			if members != 1 {
				t.Errorf("ada's session index holds %d members after 6 logins of which 5 expired, want 1", members)
			}
		})
	}
}

// sessionIndex counts the members of the dev strategy's sub index of ada,
// asking the store the way the back-channel logout does (memory), or
// Redis itself.
func sessionIndex(t *testing.T, b *authtest.Bench, rc *redis.Client, prefix string) int {
	t.Helper()
	ctx := context.Background()
	if rc == nil {
		n, err := server.CountIndexed(ctx, b.App().Server, "dev", authtest.Ada().ID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	keys, err := rc.Keys(ctx, prefix+"idx:sub:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("sub index keys: %q, %v; want one", keys, err)
	}
	n, err := rc.ZCard(ctx, keys[0]).Result()
	if err != nil {
		// Before the fix the index was a plain set.
		n, err = rc.SCard(ctx, keys[0]).Result()
	}
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestRefreshLockOutlivesDeadHolderBriefly: an instance that dies during a
// refresh (here: its Redis connection is cut, so it can neither renew nor
// release its lock) used to leave the lock for its full 30 s, and the next
// request hung for 29 s. The lock is now short and renewed while its
// holder lives: it is gone within store.LockTTL of the death, and a request
// on the other instance then refreshes.
func TestRefreshLockOutlivesDeadHolderBriefly(t *testing.T) {
	t.Parallel()
	_, prefix := testredis.Client(t)
	opts, err := redis.ParseURL(testredis.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	clients := []*redis.Client{redis.NewClient(opts), redis.NewClient(opts)}
	for _, c := range clients {
		t.Cleanup(func() { c.Close() })
	}
	gate := newRefreshGate()
	b := authtest.New(t, authtest.Options{Instances: 2, Intercept: gate.intercept,
		NewStore: func(t testing.TB, i int) server.Store { return redisstore.New(clients[i], prefix) }})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	cookie := br.Cookie(rsCookieName)
	b.Clock.Advance(6 * time.Minute)

	gate.arm()
	done := make(chan struct{})
	go func() {
		defer close(done)
		rawStatus(t, http.MethodGet, b.Apps[0].URL+"/auth/verify", cookie, nil)
	}()
	<-gate.held // instance 0 holds the refresh lock, its grant not yet sent
	defer func() { gate.Release(); <-done }()

	ctx := context.Background()
	watch := redis.NewClient(opts)
	defer watch.Close()
	locks, err := watch.Keys(ctx, prefix+"lock:*").Result()
	if err != nil || len(locks) != 1 {
		t.Fatalf("lock keys: %q, %v; want one", locks, err)
	}
	clients[0].Close() // instance 0 "dies": it can no longer renew or release
	pttl, err := watch.PTTL(ctx, locks[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl > store.LockTTL {
		t.Errorf("the dead holder's lock lives %v more, want at most %v", pttl, store.LockTTL)
	}

	// Instance 1 waits for the lock at most that long, then refreshes.
	c := &http.Client{Timeout: store.LockTTL + 5*time.Second}
	status, body, err := rsFetch(c, http.MethodGet, b.Apps[1].URL+"/auth/verify",
		http.Header{"Cookie": {rsCookieName + "=" + cookie}})
	if err != nil || status != http.StatusOK {
		t.Fatalf("verify on instance 1 after instance 0 died holding the lock: %d %s %v", status, body, err)
	}
}
