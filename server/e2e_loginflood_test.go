package server_test

// Pending logins must not exhaust memory: an anonymous GET
// /auth/{strategy}/login stores nothing server-side (the login travels in
// an encrypted cookie), over the memory store and over Redis, and a flood
// of them leaves the server's memory flat while real logins go on.

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
)

// flLoginKey is the Store key of the shared login-cookie key: the one
// entry login starts may create (once per Store, not per login).
const flLoginKey = "login-key"

// flCountingStore is a memory store that remembers every key written to
// it (SetNew of bytes, and SetNewObject: a session record).
type flCountingStore struct {
	*store.Memory
	mu   sync.Mutex
	keys map[string]bool
}

func newCountingStore(t *testing.T) *flCountingStore {
	m := store.NewMemory(store.MemoryOptions{})
	t.Cleanup(func() { m.Close() })
	return &flCountingStore{Memory: m, keys: map[string]bool{}}
}

func (c *flCountingStore) note(key string) {
	c.mu.Lock()
	c.keys[key] = true
	c.mu.Unlock()
}

// SetNew implements server.Store.
func (c *flCountingStore) SetNew(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	ok, err := c.Memory.SetNew(ctx, key, v, ttl)
	if ok {
		c.note(key)
	}
	return ok, err
}

// SetNewObject implements server.ObjectStore.
func (c *flCountingStore) SetNewObject(ctx context.Context, key string, v any, ttl time.Duration) (bool, error) {
	ok, err := c.Memory.SetNewObject(ctx, key, v, ttl)
	if ok {
		c.note(key)
	}
	return ok, err
}

// written returns the keys written since the last call, sorted.
func (c *flCountingStore) written() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.keys {
		out = append(out, k)
	}
	clear(c.keys)
	sort.Strings(out)
	return out
}

// flStarts sends n anonymous login starts (no cookies) for strategy, with
// returnTo, through the bench's front, and fails unless each redirects to
// the IdP.
func flStarts(t *testing.T, b *authtest.Bench, n int, strategy, returnTo string) {
	t.Helper()
	c := &http.Client{Transport: b.Client().Transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	target := b.URL + "/auth/" + strategy + "/login?return_to=" + url.QueryEscape(returnTo)
	for i := 0; i < n; i++ {
		resp, err := c.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, b.IdPURL+"/authorize?") {
			t.Fatalf("login start %d: %d to %q", i, resp.StatusCode, loc)
		}
	}
}

// flPerLogin returns the keys that are not the shared login key.
func flPerLogin(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if k != prefix+flLoginKey {
			out = append(out, k)
		}
	}
	return out
}

func flSample(keys []string) string {
	if len(keys) > 3 {
		return fmt.Sprintf("%q…", keys[:3])
	}
	return fmt.Sprintf("%q", keys)
}

// TestLoginStartStoresNothing: anonymous login starts write nothing to the
// Store but the one shared key, in memory and in Redis (two instances);
// the login cookie completes the login on either instance afterwards.
func TestLoginStartStoresNothing(t *testing.T) {
	t.Parallel()
	const n = 300
	long := "/app/" + strings.Repeat("x", 1900)
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		cs := newCountingStore(t)
		b := authtest.New(t, authtest.Options{NewStore: func(testing.TB, int) server.Store { return cs }})
		flStarts(t, b, n/2, "dev", "/app/x")
		flStarts(t, b, n/2, "devpost", long)
		if keys := flPerLogin(cs.written(), ""); len(keys) != 0 {
			t.Errorf("%d anonymous login starts wrote %d keys to the store, %s; want none but %q",
				n, len(keys), flSample(keys), flLoginKey)
		}
		br := b.NewBrowser()
		if p := br.Login("dev", authtest.Ada(), "/app/after"); p.Status != http.StatusFound || p.Location != b.URL+"/app/after" {
			t.Fatalf("login after the flood: %d to %q; %.300s", p.Status, p.Location, p.Body)
		}
		atkSessionOf(t, br, authtest.Ada().ID)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		b, rc, prefix := rsRedisBenchKeys(t)
		for i := 0; i < 2; i++ {
			b.Route(i)
			flStarts(t, b, n/4, "dev", "/app/x")
			flStarts(t, b, n/4, "devpost", long)
		}
		if keys := flPerLogin(rsKeys(t, rc, prefix+"*"), prefix); len(keys) != 0 {
			t.Errorf("%d anonymous login starts left %d keys in Redis, %s; want none but %q",
				n, len(keys), flSample(keys), prefix+flLoginKey)
		}
		br := b.NewBrowser()
		b.Route(0)
		back := br.SignIn(br.StartLogin("dev", "/app/after"), authtest.Ada())
		b.Route(1)
		if p := br.Get(back); p.Status != http.StatusFound || p.Location != b.URL+"/app/after" {
			t.Fatalf("login started on 0, finished on 1: %d to %q; %.300s", p.Status, p.Location, p.Body)
		}
		atkSessionOf(t, br, authtest.Ada().ID)
	})
}

// flRSS returns the process's resident set size, from /proc/self/status.
func flRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS: %v", err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS in /proc/self/status")
	return 0
}

// TestLoginFloodMemory floods one in-process server (memory store) with
// up to 300k anonymous login starts carrying a long return_to, for at most
// 45 s, while a user logs in: the process's RSS must grow by less than
// 64 MB. It takes its full time budget on a slow machine, so it runs only
// when AUTHFLOW_LOAD_TEST is set (make test sets it). Not parallel: it
// measures the whole process's RSS, which other tests would grow.
func TestLoginFloodMemory(t *testing.T) {
	if os.Getenv("AUTHFLOW_LOAD_TEST") == "" {
		t.Skip("a load test: set AUTHFLOW_LOAD_TEST=1 to run it (make test does)")
	}
	const (
		maxStarts = 300_000
		maxTime   = 45 * time.Second
		maxGrowth = 64 << 20
	)
	// The bench's log buffer keeps every line; the server's logs are not
	// what is measured here.
	b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.Logger = slog.New(slog.DiscardHandler) }})
	srv := b.App().Server
	target := b.URL + "/auth/dev/login?return_to=" + url.QueryEscape("/app/"+strings.Repeat("x", 1900))
	start := func() int {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec.Code
	}
	for i := 0; i < 2000; i++ { // warm up pools and caches
		if code := start(); code != http.StatusFound {
			t.Fatalf("login start: %d", code)
		}
	}
	runtime.GC()
	before := flRSS(t)

	var (
		count    atomic.Int64
		overflow atomic.Bool // RSS grew past the bound: stop early
		bad      atomic.Int64
		wg       sync.WaitGroup
	)
	began := time.Now()
	deadline := began.Add(maxTime)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !overflow.Load() && time.Now().Before(deadline) {
				i := count.Add(1)
				if i > maxStarts {
					count.Add(-1)
					return
				}
				if start() != http.StatusFound {
					bad.Add(1)
				}
				if i%5000 == 0 && flRSS(t)-before > maxGrowth {
					overflow.Store(true)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// A user logs in while the flood runs.
	for wait := true; wait && count.Load() < maxStarts/10 && time.Since(began) < maxTime/4; {
		select {
		case <-done:
			wait = false
		case <-time.After(50 * time.Millisecond):
		}
	}
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	atkSessionOf(t, br, authtest.Ada().ID)
	during := count.Load()
	<-done
	elapsed := time.Since(began)
	runtime.GC()
	after := flRSS(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	n := count.Load()
	t.Logf("%d login starts in %v (%.0f/s; a user logged in after %d): RSS %.1f MB before, %.1f MB after (%+.1f MB); heap in use %.1f MB",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), during,
		float64(before)/(1<<20), float64(after)/(1<<20), float64(after-before)/(1<<20), float64(ms.HeapInuse)/(1<<20))
	if bad.Load() != 0 {
		t.Errorf("%d login starts did not redirect to the IdP", bad.Load())
	}
	if growth := after - before; growth > maxGrowth || overflow.Load() {
		t.Errorf("RSS grew by %.1f MB over %d anonymous login starts (stopped early: %v), want under %d MB",
			float64(growth)/(1<<20), n, overflow.Load(), maxGrowth>>20)
	}
}
