package server_test

// Attacks on the back-channel logout receiver (issue #10, item 8): an old
// logout token without exp, and a replay once the receiver may have
// forgotten the token's jti, must both be refused (400) and end nothing.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
	"github.com/golang-jwt/jwt/v5"
)

// jtiClockStore is a memory store whose logout-token jtis expire on the
// bench's clock, so that a test can move past the time the receiver asked
// the store to remember them. Everything else is the memory store's.
type jtiClockStore struct {
	*store.Memory
	now func() time.Time // set once the bench exists, before any request

	mu    sync.Mutex
	until map[string]time.Time
	ttls  []time.Duration // every ttl asked for a jti
}

// SetNew implements server.Store.
func (s *jtiClockStore) SetNew(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if !strings.HasPrefix(key, "bcl-jti:") {
		return s.Memory.SetNew(ctx, key, value, ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttls = append(s.ttls, ttl)
	now := s.now()
	if u, ok := s.until[key]; ok && now.Before(u) {
		return false, nil
	}
	s.until[key] = now.Add(ttl)
	return true, nil
}

// jtiTTLs returns the ttls the receiver asked for.
func (s *jtiClockStore) jtiTTLs() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ttls...)
}

// newJTIClockBench is a bench whose store forgets jtis on the bench clock.
func newJTIClockBench(t *testing.T) (*authtest.Bench, *jtiClockStore) {
	t.Helper()
	js := &jtiClockStore{until: map[string]time.Time{}}
	b := authtest.New(t, authtest.Options{NewStore: func(t testing.TB, _ int) server.Store {
		m := store.NewMemory(store.MemoryOptions{})
		t.Cleanup(func() { m.Close() })
		js.Memory = m
		return js
	}})
	js.now = b.Clock.Now
	return b, js
}

// atkLogoutToken signs a logout token for the dev strategy, as the IdP
// would: typ logout+jwt, a fresh jti, sub, and iat at iat; exp only when
// not zero.
func atkLogoutToken(t *testing.T, b *authtest.Bench, sub string, iat, exp time.Time) string {
	t.Helper()
	c := map[string]any{
		"iss": b.IdPURL, "aud": authtest.BasicClient, "iat": iat.Unix(), "sub": sub,
		"jti":    fmt.Sprintf("atk-%d", time.Now().UnixNano()),
		"events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
	}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	raw, err := b.IdP.SignJWT(map[string]any{"typ": "logout+jwt"}, c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestBackchannelAttackOldIATWithoutExp: a genuinely signed logout token
// without exp whose iat is 30 days old is refused, and the session it
// names survives.
func TestBackchannelAttackOldIATWithoutExp(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	raw := atkLogoutToken(t, b, authtest.Ada().ID, b.Clock.Now().Add(-30*24*time.Hour), time.Time{})
	if status, body := postLogout(t, b, "", url.Values{"logout_token": {raw}}); status != http.StatusBadRequest {
		t.Errorf("logout token with a 30-day-old iat and no exp: %d %s, want 400", status, body)
	}
	if p := br.Verify(); p.Status != http.StatusOK {
		t.Errorf("session after the old token: verify %d, want 200", p.Status)
	}
	if e := b.Logs.Entries("back-channel logout refused"); len(e) != 1 || !strings.Contains(fmt.Sprint(e[0]["error"]), "issued") {
		t.Errorf("refusals logged: %v, want one naming the token's age", e)
	}
}

// TestBackchannelAttackReplayAfterJTIWindow: a logout token (sub only, no
// exp), fresh at first use, ends ada's session. She signs in again. The
// same token replayed — just inside its acceptance window, and again once
// the receiver's jti memory could have lapsed — is refused, and the new
// session survives.
func TestBackchannelAttackReplayAfterJTIWindow(t *testing.T) {
	t.Parallel()
	b, js := newJTIClockBench(t)
	first := b.NewBrowser()
	first.MustLogin("dev", authtest.Ada())
	used := b.Clock.Now()
	raw := atkLogoutToken(t, b, authtest.Ada().ID, used, time.Time{})
	if status, body := postLogout(t, b, "", url.Values{"logout_token": {raw}}); status != http.StatusOK {
		t.Fatalf("first use of a fresh logout token: %d %s, want 200", status, body)
	}
	if p := first.Verify(); p.Status != http.StatusUnauthorized {
		t.Fatalf("session after its logout token: verify %d, want 401", p.Status)
	}
	again := b.NewBrowser()
	again.MustLogin("dev", authtest.Ada()) // created after the first logout

	for _, at := range []time.Duration{10*time.Minute + 20*time.Second, 11*time.Minute + 30*time.Second} {
		b.Clock.Advance(used.Add(at).Sub(b.Clock.Now()))
		if status, body := postLogout(t, b, "", url.Values{"logout_token": {raw}}); status != http.StatusBadRequest {
			t.Errorf("replay %v after first use: %d %s, want 400", at, status, body)
		}
		if p := again.Verify(); p.Status != http.StatusOK {
			t.Fatalf("the session created after the first logout, %v later: verify %d, want 200", at, p.Status)
		}
	}
	// The jti was remembered for the whole window in which the token could
	// be accepted: iat + LogoutTokenMaxAge + leeway (30s), and a margin.
	ttls := js.jtiTTLs()
	if min := engine.LogoutTokenMaxAge + 30*time.Second; len(ttls) == 0 || ttls[0] < min {
		t.Errorf("jti ttls asked for %v, want the first at least %v", ttls, min)
	}
}

// TestBackchannelAttackFloodWhileKeysFail: anonymous back-channel logout
// POSTs with forged kids, while the IdP's key set is broken, make one key
// fetch, not one each; once the keys are back (and the short failure
// backoff has passed), a genuine logout token works.
func TestBackchannelAttackFloodWhileKeysFail(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	var keyFetches atomic.Int64
	broken.Store(true)
	b := authtest.New(t, authtest.Options{Tamper: func(req *http.Request, body []byte) []byte {
		if req.URL.Path != "/keys" {
			return body
		}
		keyFetches.Add(1)
		if broken.Load() {
			return []byte("<html>maintenance</html>")
		}
		return body
	}})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const posts, workers = 200, 20
	forms := make(chan url.Values, posts)
	for i := range posts {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(logoutClaims(b, authtest.Ada().ID, "")))
		tok.Header["kid"] = fmt.Sprintf("forged-%d", i)
		raw, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		forms <- url.Values{"logout_token": {raw}}
	}
	close(forms)
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for range workers {
		wg.Go(func() {
			for form := range forms {
				status, _, err := rsFetchPost(b.Client(), b.URL+"/auth/dev/backchannel-logout", form)
				if err != nil || status != http.StatusBadRequest {
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d of %d forged logout POSTs were not refused with 400", n, posts)
	}
	n := keyFetches.Load()
	if n > 2 {
		t.Errorf("%d forged logout POSTs while the keys fail made %d key fetches, want at most 2", posts, n)
	}
	t.Logf("%d forged logout POSTs, keys failing: %d key fetch(es)", posts, n)

	broken.Store(false)
	b.Clock.Advance(5 * time.Second) // past the failure backoff
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	raw := atkLogoutToken(t, b, authtest.Ada().ID, b.Clock.Now(), time.Time{})
	if status, body := postLogout(t, b, "", url.Values{"logout_token": {raw}}); status != http.StatusOK {
		t.Fatalf("genuine logout token once the keys are back: %d %s", status, body)
	}
	if p := br.Verify(); p.Status != http.StatusUnauthorized {
		t.Errorf("session after its logout token: verify %d, want 401", p.Status)
	}
}
