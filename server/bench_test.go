package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/strategies"
)

// benchServer returns a Server on st with one signed-in session, and that
// session's cookie.
func benchServer(b *testing.B, st store.Store) (*Server, *http.Cookie) {
	b.Helper()
	data, err := os.ReadFile("../testdata/spec_example.json")
	if err != nil {
		b.Fatal(err)
	}
	set, err := strategies.Parse("spec_example.json", data)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(set, engine.Options{LookupEnv: func(string) (string, bool) { return "secret", true }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Close)
	s, err := New(eng, Config{BaseURI: "https://app.example.com", Store: st})
	if err != nil {
		b.Fatal(err)
	}
	return s, benchLogin(b, s)
}

// benchLogin starts a session on s and returns its cookie.
func benchLogin(b *testing.B, s *Server) *http.Cookie {
	b.Helper()
	login := s.sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.startSession(r.Context(), &engine.Result{Strategy: "acme",
			User:   json.RawMessage(`{"sub":"user-1","email":"user@example.com","groups":["admins","devs"]}`),
			Tokens: engine.Tokens{AccessToken: "at", RefreshToken: "rt", Expiry: time.Now().Add(time.Hour)}})
		if err != nil {
			b.Error(err)
		}
	}))
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

// runVerify runs target (a verify URL) with cookie through s's handler, in
// parallel, failing on any answer but 200.
func runVerify(b *testing.B, s *Server, cookie *http.Cookie, target string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("%s: %d", target, rec.Code)
				return
			}
		}
	})
}

// BenchmarkVerify measures GET /auth/verify for a live session — the
// request a forward-auth proxy makes before every request it passes on —
// with the session in memory and in Redis, in parallel, through the
// handler (no network between proxy and authflow).
func BenchmarkVerify(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(b *testing.B) store.Store {
			m := store.NewMemory()
			b.Cleanup(func() { m.Close() })
			return m
		}},
		{"redis", func(b *testing.B) store.Store {
			c, prefix := testredis.Client(b)
			return store.NewRedis(c, prefix)
		}},
	}
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
}

// BenchmarkVerifyCodec compares scs's default gob codec with authflow's
// JSON codec on the same verify request, side by side in one run.
func BenchmarkVerifyCodec(b *testing.B) {
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"gob", scs.GobCodec{}}, {"json", jsonCodec{}}} {
		b.Run(c.name, func(b *testing.B) {
			m := store.NewMemory()
			b.Cleanup(func() { m.Close() })
			s, _ := benchServer(b, m)
			s.sessions.Codec = c.codec
			runVerify(b, s, benchLogin(b, s), "/auth/verify")
		})
	}
}

// BenchmarkVerifyHTTP is BenchmarkVerify/memory over loopback HTTP with
// keep-alive connections, as nginx's auth_request makes it.
func BenchmarkVerifyHTTP(b *testing.B) {
	m := store.NewMemory()
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
