package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/authtest"
)

// ccFile is a client_credentials strategy whose token step POSTs to
// {{IDP}}/cc-token with client_secret_basic.
const ccFile = `{"base_uri": "https://app.test", "strategies": {"svc": {
	"grant_type": "client_credentials", "client_id": "svc-client", "client_secret": "${env.ACME_SECRET}", "scope": "api.read",
	"steps": [{"name": "token", "uri": "{{IDP}}/cc-token", "method": "POST", "client_auth": "client_secret_basic",
	           "form": {"grant_type": "${grant_type}", "scope": "${scope}"}}]}}}`

// ccEndpoint is a counting client-credentials token endpoint: each answer
// is a new token that lives expiresIn seconds; release, when set, holds
// every answer until it is closed.
type ccEndpoint struct {
	hits      atomic.Int64
	expiresIn int
	release   chan struct{}
	fail      atomic.Bool
}

func (c *ccEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.hits.Add(1)
	if c.release != nil {
		<-c.release
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != "svc-client" || secret != "s3cr3t%3Ap%40ss%2Fw%2Brd" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "api.read" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	if c.fail.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "temporarily_unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": fmt.Sprintf("at-%d", n), "token_type": "Bearer", "expires_in": c.expiresIn})
}

// ccSource starts the endpoint and returns the strategy's token source.
func ccSource(t *testing.T, c *ccEndpoint, now func() time.Time) *engine.TokenSource {
	t.Helper()
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	e := newEngine(t, parseFile(t, srv.URL, ccFile), engine.Options{HTTPClient: srv.Client(), LookupEnv: testEnv, Now: now})
	ts, err := e.Strategy("svc").TokenSource()
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestTokenSourceFetchesOnce: many callers at once, one fetch; all get
// its token.
func TestTokenSourceFetchesOnce(t *testing.T) {
	t.Parallel()
	c := &ccEndpoint{expiresIn: 3600, release: make(chan struct{})}
	ts := ccSource(t, c, newClock(t0).Now)
	const n = 50
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = ts.AccessToken(context.Background())
		}()
	}
	// Let the callers pile up behind the one fetch, then answer it.
	authtest.Eventually(t, "the fetch to start", func() bool { return c.hits.Load() > 0 })
	close(c.release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != "at-1" {
			t.Fatalf("caller %d: %q, %v", i, got[i], errs[i])
		}
	}
	if h := c.hits.Load(); h != 1 {
		t.Errorf("%d fetches for %d concurrent callers, want 1", h, n)
	}
}

// TestTokenSourceCachesUntilExpiry: the token is reused until shortly
// before it expires; then one new fetch.
func TestTokenSourceCachesUntilExpiry(t *testing.T) {
	t.Parallel()
	clock := newClock(t0)
	c := &ccEndpoint{expiresIn: 300}
	ts := ccSource(t, c, clock.Now)
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "at-1"},
		{time.Minute, "at-1"},
		{3*time.Minute + 49*time.Second, "at-1"}, // 4m49s: 11s left
		{2 * time.Second, "at-2"},                // 9s left: fetched again
		{time.Minute, "at-2"},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		tok, err := ts.Token(ctx)
		if err != nil || tok.AccessToken != s.want {
			t.Fatalf("after %v more: %q, %v; want %s", s.advance, tok.AccessToken, err, s.want)
		}
	}
	if h := c.hits.Load(); h != 2 {
		t.Errorf("%d fetches, want 2", h)
	}
}

// TestTokenSourceFailureNotCached: a refused fetch fails its callers and
// the next call tries again.
func TestTokenSourceFailureNotCached(t *testing.T) {
	t.Parallel()
	c := &ccEndpoint{expiresIn: 300}
	c.fail.Store(true)
	ts := ccSource(t, c, newClock(t0).Now)
	_, err := ts.Token(context.Background())
	var pe *engine.ProviderError
	if !errors.As(err, &pe) || pe.Code != engine.CodeTemporarilyUnavailable {
		t.Fatalf("err = %v, want the IdP's temporarily_unavailable", err)
	}
	c.fail.Store(false)
	if tok, err := ts.AccessToken(context.Background()); err != nil || tok != "at-2" {
		t.Fatalf("retry: %q, %v", tok, err)
	}
}

// TestTokenSourceCallerContext: a caller whose context ends stops waiting;
// the fetch goes on for the others.
func TestTokenSourceCallerContext(t *testing.T) {
	t.Parallel()
	c := &ccEndpoint{expiresIn: 300, release: make(chan struct{})}
	ts := ccSource(t, c, newClock(t0).Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := ts.Token(ctx); done <- err }()
	authtest.Eventually(t, "the fetch to start", func() bool { return c.hits.Load() > 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(c.release)
	if tok, err := ts.AccessToken(context.Background()); err != nil || tok != "at-1" {
		t.Fatalf("after: %q, %v", tok, err)
	}
	if h := c.hits.Load(); h != 1 {
		t.Errorf("%d fetches, want 1", h)
	}
}

// TestTokenSourceOnlyClientCredentials: a login strategy has none.
func TestTokenSourceOnlyClientCredentials(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	if _, err := p.strategy(t, oidcFile(authPost)).TokenSource(); !errors.Is(err, engine.ErrNotClientCredentials) {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkTokenSourceCached: the cost of Token once the token is cached,
// from many goroutines (the lock is the shared part).
func BenchmarkTokenSourceCached(b *testing.B) {
	c := &ccEndpoint{expiresIn: 3600}
	srv := httptest.NewServer(c)
	b.Cleanup(srv.Close)
	e := newEngine(b, parseFile(b, srv.URL, ccFile), engine.Options{HTTPClient: srv.Client(), LookupEnv: testEnv, Now: newClock(t0).Now})
	ts, err := e.Strategy("svc").TokenSource()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ts.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	if h := c.hits.Load(); h != 1 {
		b.Fatalf("%d fetches", h)
	}
}
