package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
)

// realisticResult is a login as a real OIDC deployment makes it: a user
// object of ID token claims merged with userinfo, and JWT-sized tokens, so
// that the session record is about 2 KB, as in bench/forwardauth.
func realisticResult() *engine.Result {
	jwt := func(n int) string { return "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("x", n) }
	now := time.Now()
	return &engine.Result{Strategy: "acme",
		User: json.RawMessage(`{"iss":"https://sso.acme.test","sub":"user-1","aud":"acme-web","exp":1764594000,"iat":1764590400,` +
			`"auth_time":1764590400,"nonce":"n-0S6_WzA2Mj","sid":"08a5019c-17e1-4977-8f42-65a12843ea02","email":"user@example.com",` +
			`"email_verified":true,"name":"Ada Lovelace","given_name":"Ada","family_name":"Lovelace","preferred_username":"ada",` +
			`"groups":["admins","devs","Domain Users"],"locale":"en-GB","zoneinfo":"Europe/London","updated_at":1764500000}`),
		Claims: map[string]any{"email": "user@example.com", "name": "Ada Lovelace", "groups": []any{"admins", "devs", "Domain Users"}},
		Tokens: engine.Tokens{AccessToken: jwt(700), TokenType: "Bearer", RefreshToken: jwt(120), IDToken: jwt(800),
			Expiry: now.Add(time.Hour), Issued: now}}
}

// BenchmarkVerifyCPU is BenchmarkVerify/redis with a realistic record, as
// the load benchmark runs authflow: one P (GOMAXPROCS=1, -cpu 1) and 64
// callers. It reports the process's CPU time per verify (cpu-ns/op), which
// a busy machine disturbs much less than ns/op.
func BenchmarkVerifyCPU(b *testing.B) {
	for _, backend := range []string{"memory", "redis"} {
		b.Run(backend, func(b *testing.B) {
			var st Store
			if backend == "redis" {
				st = openBenchRedis(b)
			} else {
				m := store.NewMemory(store.MemoryOptions{})
				b.Cleanup(func() { m.Close() })
				st = m
			}
			s, _ := benchServer(b, st)
			cookie := realisticLogin(b, s)
			b.SetParallelism(64 / runtime.GOMAXPROCS(0))
			start := cpuTime()
			b.ResetTimer()
			runVerify(b, s, cookie, "/auth/verify")
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecordDecode measures reading a realistic record's stored form
// as /auth/verify does (head only), and whole (head and body).
func BenchmarkRecordDecode(b *testing.B) {
	raw := string(realisticEncoded(b))
	b.Run("head", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeRecord(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec, err := decodeRecord(raw)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rec.user(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// realisticEncoded returns the stored form of a session of realisticResult.
func realisticEncoded(tb testing.TB) []byte {
	tb.Helper()
	res := realisticResult()
	now := time.Now()
	rec := &record{ID: sessionID(newID()), Strategy: res.Strategy, Subject: res.Subject(),
		IdPSID: "08a5019c-17e1-4977-8f42-65a12843ea02", Created: now, Expires: now.Add(time.Hour), LastSeen: now}
	rec.setBody(res.User, res.Claims, res.Tokens, true)
	b, err := encodeRecord(rec)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// realisticLogin starts a session of realisticResult on s and returns its
// cookie.
func realisticLogin(b *testing.B, s *Server) *http.Cookie {
	b.Helper()
	w := httptest.NewRecorder()
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.startSession(r.Context(), w, r, realisticResult()); err != nil {
			b.Error(err)
		}
	})
	login.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == s.sessionCookieName {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}
