package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/store"
)

// lcServer returns a Server with just what login cookies need.
func lcServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.BaseURI = "https://app.example.com"
	if cfg.Store == nil {
		m := store.NewMemory(store.MemoryOptions{})
		t.Cleanup(func() { m.Close() })
		cfg.Store = m
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	return &Server{cfg: cfg, log: cfg.Logger}
}

// lcFlaky is a Store whose Get and SetNew fail while down is set.
type lcFlaky struct {
	*store.Memory
	down  atomic.Bool
	reads atomic.Int32
}

var errDown = errors.New("store down")

func (f *lcFlaky) Get(ctx context.Context, key string) ([]byte, error) {
	f.reads.Add(1)
	if f.down.Load() {
		return nil, errDown
	}
	return f.Memory.Get(ctx, key)
}

func (f *lcFlaky) SetNew(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if f.down.Load() {
		return false, errDown
	}
	return f.Memory.SetNew(ctx, key, v, ttl)
}

func lcSeal(t *testing.T, s *Server, p *pendingLogin) string {
	t.Helper()
	aeads, _, err := s.loginAEADs(t.Context(), loginKeyRecheck)
	if err != nil {
		t.Fatal(err)
	}
	v, err := seal(aeads[0], p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLoginCookieSealOpen(t *testing.T) {
	t.Parallel()
	s := lcServer(t, Config{})
	p := &pendingLogin{Strategy: "dev", State: "state-value", Nonce: "nonce-value", CodeVerifier: "verifier-value",
		ReturnTo: "/app/return-to", Started: 1700000000000, Params: map[string]string{"login_hint": "ada@example.test"}}
	v := lcSeal(t, s, p)
	got, ok, err := s.openLogin(t.Context(), v)
	if err != nil || !ok || !reflect.DeepEqual(got, p) {
		t.Fatalf("open(seal(p)) = %+v, %v, %v; want %+v", got, ok, err, p)
	}
	for _, c := range []string{p.State, p.Nonce, p.CodeVerifier, p.ReturnTo} {
		if strings.Contains(v, c) || strings.Contains(v, base64.RawURLEncoding.EncodeToString([]byte(c))[:8]) {
			t.Errorf("the sealed value shows %q in the clear", c)
		}
	}
	other := lcServer(t, Config{}) // its own store: another key
	flip := []byte(v)
	flip[len(flip)/2] ^= 1
	for name, bad := range map[string]string{
		"empty":          "",
		"not base64":     "!!!",
		"short":          v[:20],
		"one bit off":    string(flip),
		"truncated tag":  v[:len(v)-2],
		"too long":       v + strings.Repeat("A", maxLoginCookieValue),
		"another key's":  lcSeal(t, other, p),
		"plain JSON b64": "eyJzIjoiZGV2Iiwic3QiOiJzdCJ9",
	} {
		if got, ok, err := s.openLogin(t.Context(), bad); ok || err != nil {
			t.Errorf("%s: open = %+v, %v, %v; want refused", name, got, ok, err)
		}
	}
}

// TestLoginKeyShared: two servers on one Store mint one key between them
// and open each other's cookies; Config.LoginKey writes nothing.
func TestLoginKeyShared(t *testing.T) {
	t.Parallel()
	m := store.NewMemory(store.MemoryOptions{})
	t.Cleanup(func() { m.Close() })
	a, b := lcServer(t, Config{Store: m}), lcServer(t, Config{Store: m})
	p := &pendingLogin{Strategy: "dev", State: "st", Started: 1}
	if _, ok, _ := b.openLogin(t.Context(), lcSeal(t, a, p)); !ok {
		t.Error("b does not open a's cookie")
	}
	if _, ok, _ := a.openLogin(t.Context(), lcSeal(t, b, p)); !ok {
		t.Error("a does not open b's cookie")
	}
	if raw, err := m.Get(t.Context(), loginKeyName); err != nil || len(raw) != 32 {
		t.Errorf("store's login key: %d bytes, %v", len(raw), err)
	}

	key := bytes.Repeat([]byte{7}, 32)
	empty := store.NewMemory(store.MemoryOptions{})
	t.Cleanup(func() { empty.Close() })
	c, d := lcServer(t, Config{Store: empty, LoginKey: key}), lcServer(t, Config{LoginKey: key})
	if _, ok, _ := d.openLogin(t.Context(), lcSeal(t, c, p)); !ok {
		t.Error("servers with one Config.LoginKey do not open each other's cookies")
	}
	if _, err := empty.Get(t.Context(), loginKeyName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("with Config.LoginKey, the store holds a login key (%v)", err)
	}
	cfg := Config{BaseURI: "https://app.example.com", LoginKey: []byte("short")}
	if err := cfg.setDefaults(); err == nil || !strings.Contains(err.Error(), "LoginKey") {
		t.Errorf("a 5-byte LoginKey: %v, want an error naming LoginKey", err)
	}
}

// TestLoginKeyRotation: when the Store's key goes (expired, flushed), a
// new one is minted; cookies sealed with the old one still open, and an
// instance that has not read the new key yet reads it when a cookie opens
// with none of its keys.
func TestLoginKeyRotation(t *testing.T) {
	t.Parallel()
	m := store.NewMemory(store.MemoryOptions{})
	t.Cleanup(func() { m.Close() })
	now := time.Now()
	clock := func() time.Time { return now }
	a, b := lcServer(t, Config{Store: m, Now: clock}), lcServer(t, Config{Store: m, Now: clock})
	p := &pendingLogin{Strategy: "dev", State: "st", Started: 1}
	old := lcSeal(t, a, p)
	now = now.Add(loginKeyRecheck + time.Second)
	lcSeal(t, b, p) // b has just read the first key

	m.Delete(t.Context(), loginKeyName)
	fresh := lcSeal(t, a, p) // a's check is old: it mints the second key
	if _, ok, _ := a.openLogin(t.Context(), old); !ok {
		t.Error("a no longer opens a cookie of the previous key")
	}
	// b's check is recent, but a cookie no key of b's opens makes it read
	// the store's key again (at most every loginKeyForce).
	now = now.Add(loginKeyForce + time.Second)
	if _, ok, _ := b.openLogin(t.Context(), fresh); !ok {
		t.Error("b does not open a cookie of the rotated key")
	}
	if _, ok, _ := b.openLogin(t.Context(), old); !ok {
		t.Error("b no longer opens a cookie of the previous key")
	}
}

// TestLoginKeyStoreDown: with no key yet, a store failure is an error and
// the next call tries again; with a cached key, it serves on and asks the
// store again only after loginKeyRecheck.
func TestLoginKeyStoreDown(t *testing.T) {
	t.Parallel()
	m := store.NewMemory(store.MemoryOptions{})
	t.Cleanup(func() { m.Close() })
	f := &lcFlaky{Memory: m}
	now := time.Now()
	s := lcServer(t, Config{Store: f, Now: func() time.Time { return now }})
	f.down.Store(true)
	if _, _, err := s.loginAEADs(t.Context(), loginKeyRecheck); !errors.Is(err, errDown) {
		t.Fatalf("first key read with the store down: %v, want the store's error", err)
	}
	f.down.Store(false)
	p := &pendingLogin{Strategy: "dev", State: "st", Started: 1}
	v := lcSeal(t, s, p)

	f.down.Store(true)
	now = now.Add(loginKeyRecheck + time.Second)
	if _, ok, err := s.openLogin(t.Context(), v); !ok || err != nil {
		t.Errorf("open with the store down and a cached key: %v, %v", ok, err)
	}
	reads := f.reads.Load()
	for range 10 {
		if _, _, err := s.loginAEADs(t.Context(), loginKeyRecheck); err != nil {
			t.Fatal(err)
		}
	}
	if d := f.reads.Load() - reads; d != 0 {
		t.Errorf("%d store reads within loginKeyRecheck of a failed one, want 0", d)
	}
}

// TestPruneLoginCookies: a browser keeps at most maxLoginCookies login
// cookies within loginCookieBudget; the oldest go first, cookies that do
// not open before any.
func TestPruneLoginCookies(t *testing.T) {
	t.Parallel()
	s := lcServer(t, Config{})
	aeads, _, err := s.loginAEADs(t.Context(), loginKeyRecheck)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/auth/dev/login", nil)
	names := map[int64]string{}
	for i := int64(1); i <= 6; i++ {
		st := "state-" + string(rune('a'+i))
		name := s.loginCookieName(st)
		names[i] = name
		req.AddCookie(&http.Cookie{Name: name, Value: lcSeal(t, s, &pendingLogin{Strategy: "dev", State: st, Started: i})})
	}
	req.AddCookie(&http.Cookie{Name: s.loginCookieName("forged"), Value: "forged-value"})
	req.AddCookie(&http.Cookie{Name: "app_cookie", Value: "x"})
	rec := httptest.NewRecorder()
	s.pruneLoginCookies(rec, req, aeads, 300)
	cleared := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 || c.Path != "/" || !c.Secure {
			t.Errorf("clearing cookie %s", c.Raw)
		}
		cleared[c.Name] = true
	}
	// 4 kept (the new one is the 5th): 6, 5, 4, 3; 2, 1 and the forged one go.
	want := map[string]bool{names[1]: true, names[2]: true, s.loginCookieName("forged"): true}
	if len(cleared) != len(want) {
		t.Errorf("cleared %v, want %v", cleared, want)
	}
	for n := range want {
		if !cleared[n] {
			t.Errorf("%s not cleared", n)
		}
	}

	// The byte budget: big cookies leave room for fewer.
	req = httptest.NewRequest(http.MethodGet, "/auth/dev/login", nil)
	for i := int64(1); i <= 3; i++ {
		st := "big-" + string(rune('a'+i))
		names[i] = s.loginCookieName(st)
		req.AddCookie(&http.Cookie{Name: names[i], Value: lcSeal(t, s, &pendingLogin{Strategy: "dev", State: st,
			ReturnTo: "/" + strings.Repeat("x", maxReturnTo-1), Started: i})})
	}
	rec = httptest.NewRecorder()
	s.pruneLoginCookies(rec, req, aeads, 3000)
	var got []string
	for _, c := range rec.Result().Cookies() {
		got = append(got, c.Name)
	}
	if len(got) != 2 || !strings.Contains(strings.Join(got, " "), names[1]) || !strings.Contains(strings.Join(got, " "), names[2]) {
		t.Errorf("with three 3 KB cookies and a new one: cleared %v, want the two oldest", got)
	}
}

func TestCookieName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		base   string
		secure bool
		want   string
	}{
		{"authflow_session", true, "__Host-authflow_session"},
		{"authflow_session", false, "authflow_session"},
		{"__Host-mine", true, "__Host-mine"},
		{"__Secure-mine", true, "__Secure-mine"},
	} {
		if got := cookieName(tt.base, tt.secure); got != tt.want {
			t.Errorf("cookieName(%q, %v) = %q, want %q", tt.base, tt.secure, got, tt.want)
		}
	}
}
