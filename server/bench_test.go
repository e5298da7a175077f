package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/store/redisstore"
)

// benchServer returns a Server on st with one signed-in session, and that
// session's cookie.
func benchServer(b *testing.B, st Store) (*Server, *http.Cookie) {
	b.Helper()
	s := benchServerConfig(b, Config{BaseURI: "https://app.example.com", Store: st})
	return s, benchLogin(b, s)
}

// benchLogin starts a session on s and returns its cookie.
func benchLogin(b *testing.B, s *Server) *http.Cookie {
	b.Helper()
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.startSession(r.Context(), w, r, &engine.Result{Strategy: "acme",
			User:   json.RawMessage(`{"sub":"user-1","email":"user@example.com","groups":["admins","devs"]}`),
			Tokens: engine.Tokens{AccessToken: "at", RefreshToken: "rt", Expiry: time.Now().Add(time.Hour)}})
		if err != nil {
			b.Error(err)
		}
	})
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-authflow_session" {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}

// benchWriter is a ResponseWriter that keeps only the status, reset for
// each request, so that a benchmark measures the handler and not a
// recorder.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }

// runVerify runs target (a verify URL) with cookie through h, in parallel,
// failing on any answer but 200. Each goroutine reuses one request, as a
// server reuses its connection's buffers.
func runVerify(b *testing.B, h http.Handler, cookie *http.Cookie, target string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = http.StatusOK
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Errorf("%s: %d", target, w.status)
				return
			}
		}
	})
}

// openBenchRedis returns a Store over the test Redis with the client
// authflow serve makes (redisstore.Open), under a prefix of its own.
func openBenchRedis(b *testing.B) Store {
	_, prefix := testredis.Client(b) // removes the prefix's keys at the end
	r, err := redisstore.Open(b.Context(), redisstore.Options{URL: testredis.URL(b), Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// floor is the bare handler benchmarks compare with: 200 and one header.
var floor = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Auth-User", "user-1")
	w.WriteHeader(http.StatusOK)
})

// BenchmarkVerify measures GET /auth/verify for a live session — the
// request a forward-auth proxy makes before every request it passes on —
// with the session in memory and in Redis, in parallel, through the
// handler (no network between proxy and authflow).
func BenchmarkVerify(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"memory", func(b *testing.B) Store {
			m := store.NewMemory(store.MemoryOptions{})
			b.Cleanup(func() { m.Close() })
			return m
		}},
		{"redis", openBenchRedis},
	}
	b.Run("floor", func(b *testing.B) { runVerify(b, floor, nil, "/auth/verify") })
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			s, cookie := benchServer(b, sc.open(b))
			for _, q := range []string{"", "?allowed_groups=devs&allowed_domains=example.com"} {
				name := "plain"
				if q != "" {
					name = "allow-lists"
				}
				b.Run(name, func(b *testing.B) { runVerify(b, s, cookie, "/auth/verify"+q) })
			}
		})
	}
	b.Run("upstream_jwt", benchVerifyUpstreamJWT)
	b.Run("bearer", benchVerifyBearer) // bearer_bench_test.go
}

// BenchmarkVerifyHTTP is BenchmarkVerify/memory over loopback HTTP with
// keep-alive connections, as nginx's auth_request makes it.
func BenchmarkVerifyHTTP(b *testing.B) {
	m := store.NewMemory(store.MemoryOptions{})
	b.Cleanup(func() { m.Close() })
	s, cookie := benchServer(b, m)
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/auth/verify", nil)
			req.AddCookie(cookie)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("verify: %d", resp.StatusCode)
				return
			}
		}
	})
}
