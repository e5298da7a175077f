package server

// /auth/verify over a Store with HeadGetter (Redis): a check reads the
// record's head alone, in one command, and the whole record only when it
// must write it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// commandLog is a go-redis hook that records the names of the commands a
// client sends, alone or in a pipeline.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (c *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.names = append(c.names, cmd.Name())
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		for _, cmd := range cmds { // a batch of reads: each is one command
			c.names = append(c.names, cmd.Name())
		}
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

// take returns the commands sent since the last take.
func (c *commandLog) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.names, " ")
	c.names = nil
	return s
}

// headServer is a server over the production Redis client with an idle
// timeout, on a clock of its own.
func headServer(t *testing.T) (*Server, *commandLog, *atomic.Int64) {
	t.Helper()
	_, prefix := testredis.Client(t) // removes the prefix's keys at the end
	st, err := redisstore.Open(t.Context(), redisstore.Options{URL: testredis.URL(t), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := &commandLog{}
	st.Client().AddHook(log)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	s := benchServerConfig(t, Config{BaseURI: "https://app.example.com", Store: st, IdleTimeout: time.Hour,
		Now: func() time.Time { return time.Unix(0, now.Load()) }})
	t.Cleanup(s.Close)
	return s, log, &now
}

// headLogin starts a session for user (a JSON object) and returns its
// cookie.
func headLogin(t *testing.T, s *Server, user string, expiry time.Time) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	_, err := s.startSession(t.Context(), w, httptest.NewRequest(http.MethodGet, "/", nil), &engine.Result{Strategy: "acme",
		User:   json.RawMessage(user),
		Tokens: engine.Tokens{AccessToken: "at", RefreshToken: "rt", Expiry: expiry}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == s.sessionCookieName {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// headVerify runs one /auth/verify with cookie.
func headVerify(s *Server, cookie *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/auth/verify", nil)
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// TestVerifyReadsHead: a check is one GETRANGE of the head; a check that
// must touch the session for the idle timeout reads the whole record and
// swaps it (and the touch holds: the session outlives its first idle
// window); a head longer than the range is read whole; an ended session
// is refused.
func TestVerifyReadsHead(t *testing.T) {
	t.Parallel()
	s, log, now := headServer(t)
	advance := func(d time.Duration) { now.Add(int64(d)) }
	cookie := headLogin(t, s, `{"sub":"user-1","email":"user@example.com","groups":["admins","devs"]}`,
		time.Unix(0, now.Load()).Add(24*time.Hour))
	log.take()

	for i := range 3 {
		w := headVerify(s, cookie)
		if w.Code != http.StatusOK || w.Header().Get("X-Auth-User") != "user-1" || w.Header().Get("X-Auth-Groups") != "admins,devs" {
			t.Fatalf("verify %d: %d %v", i, w.Code, w.Header())
		}
	}
	if got := log.take(); got != "getrange getrange getrange" {
		t.Errorf("3 checks sent %q, want one GETRANGE each", got)
	}

	advance(40 * time.Minute) // past a tenth of the idle timeout: this check touches
	if w := headVerify(s, cookie); w.Code != http.StatusOK {
		t.Fatalf("verify after 40m: %d", w.Code)
	}
	if got := log.take(); !strings.HasPrefix(got, "getrange get evalsha") {
		t.Errorf("the touching check sent %q, want GETRANGE, GET, then the compare-and-swap", got)
	}
	advance(50 * time.Minute) // 90m after login, 50m after the touch
	if w := headVerify(s, cookie); w.Code != http.StatusOK {
		t.Fatalf("verify 50m after the touch (90m after login, idle timeout 1h): %d, want 200", w.Code)
	}
	log.take()

	// A head over headBytes: many groups.
	var groups []string
	for i := range 80 {
		groups = append(groups, fmt.Sprintf("group-with-a-long-name-%02d", i))
	}
	gj, _ := json.Marshal(groups)
	long := headLogin(t, s, `{"sub":"user-2","groups":`+string(gj)+`}`, time.Unix(0, now.Load()).Add(24*time.Hour))
	log.take()
	if w := headVerify(s, long); w.Code != http.StatusOK || w.Header().Get("X-Auth-Groups") != strings.Join(groups, ",") {
		t.Fatalf("verify of a long head: %d, X-Auth-Groups %q", w.Code, w.Header().Get("X-Auth-Groups"))
	}
	if got := log.take(); got != "getrange get" {
		t.Errorf("the check of a long head sent %q, want GETRANGE then GET", got)
	}

	// Ended: the record is gone, the check is refused.
	s.dropSession(t.Context(), sessionID(cookie.Value))
	if w := headVerify(s, cookie); w.Code != http.StatusUnauthorized {
		t.Errorf("verify of an ended session: %d, want 401", w.Code)
	}
}
