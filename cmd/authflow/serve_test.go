package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// The tests that run serve (startServe, tryServe) or set the environment
// are not parallel: they set ACME_SECRET in the process's environment
// (t.Setenv), every serve reloads on the process's SIGHUP (which
// TestReloadOnSIGHUP sends), and serve sets go-redis's process-global
// logger. The tests of the other commands run in parallel.
func TestMain(m *testing.M) {
	code := m.Run()
	testredis.Stop() // a redis-server the tests started, if any
	os.Exit(code)
}

// settingsFrom builds the serve command's settings from args and an
// optional config file, the way the command does.
func settingsFrom(t *testing.T, configFile string, args ...string) *viper.Viper {
	t.Helper()
	v := viper.New()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	bindSettings(v, fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := readConfig(v, configFile); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "authflow.yaml")
	os.WriteFile(cfg, []byte("addr: 127.0.0.1:9001\nsession:\n  store: redis\n  lifetime: 2h\ncookie:\n  secure: false\nlog:\n  format: text\n"), 0o600)

	t.Setenv("AUTHFLOW_SESSION_LIFETIME", "3h")
	t.Setenv("AUTHFLOW_LOG_FORMAT", "json")
	v := settingsFrom(t, cfg, "--log-format=text", "--signin-success=/home")

	tests := []struct {
		key  string
		got  any
		want any
	}{
		{"addr (config file over default)", v.GetString("addr"), "127.0.0.1:9001"},
		{"session.store (config file, nested)", v.GetString("session.store"), "redis"},
		{"session.lifetime (env over config file)", v.GetDuration("session.lifetime"), 3 * time.Hour},
		{"cookie.secure (config file)", v.GetBool("cookie.secure"), false},
		{"log.format (flag over env)", v.GetString("log.format"), "text"},
		{"signin_success (flag)", v.GetString("signin_success"), "/home"},
		{"step_timeout (default)", v.GetDuration("step_timeout"), 10 * time.Second},
		{"max_response_bytes (default)", v.GetInt64("max_response_bytes"), int64(1 << 20)},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, tc.got, tc.want)
		}
	}
}

func TestServeRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown store", []string{"--strategies=../../testdata/spec_example.json", "--session-store=postgresql"}, `session.store: "postgresql"`},
		{"bad log format", []string{"--strategies=../../testdata/spec_example.json", "--log-format=xml"}, "log.format"},
		{"broken strategies file", []string{"--strategies=../../testdata/broken.json"}, `strategy "jwt"`},
		{"unreachable redis", []string{"--strategies=../../testdata/spec_example.json", "--session-store=redis", "--session-redis-url=redis://127.0.0.1:1/0"}, "127.0.0.1:1"},
	}
	t.Setenv("ACME_SECRET", "acme-secret-value")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := settingsFrom(t, "", append([]string{"--addr=127.0.0.1:0"}, tc.args...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := serve(ctx, v, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestServeWithoutStrategiesRunsDemo: with no strategies file
// the server runs the built-in demo.
func TestServeWithoutStrategiesRunsDemo(t *testing.T) {
	r := startServe(t)
	if body := r.body("/"); !strings.Contains(body, "authflow demo") {
		t.Errorf("home page: %.200s", body)
	}
	if body := r.body("/auth/login"); !strings.Contains(body, "Continue with Demo IdP") {
		t.Errorf("chooser: %.200s", body)
	}
	if got := r.status("/idp/.well-known/openid-configuration"); got != http.StatusOK {
		t.Errorf("the demo IdP's discovery: %d", got)
	}
	if !strings.Contains(r.logs.String(), "serving the built-in demo") {
		t.Errorf("no warning that the demo is served:\n%s", r.logs.String())
	}
}

// TestServeLifecycle starts the server as the binary does, checks /healthz
// and the login redirect, then shuts it down gracefully.
func TestServeLifecycle(t *testing.T) {
	for _, storeKind := range []string{"memory", "redis"} {
		t.Run(storeKind, func(t *testing.T) {
			const secret = "acme-secret-value" // startServe's ACME_SECRET
			args := []string{"--strategies=../../testdata/spec_example.json", "--session-store=" + storeKind}
			if storeKind == "redis" {
				args = append(args, "--session-redis-url="+testredis.URL(t))
			}
			r := startServe(t, args...)

			if p := r.br.Get("/healthz"); p.Status != http.StatusOK || p.Body != "ok\n" {
				t.Errorf("/healthz: %d %q", p.Status, p.Body)
			}
			// One strategy: the chooser redirects straight to it, and its
			// login redirects to the IdP with the spec example's auth_uri.
			p := r.br.Get("/auth/acme/login")
			if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "https://sso.acme.test/authorize?") {
				t.Errorf("/auth/acme/login: %d to %q", p.Status, p.Location)
			}
			if got := p.Header.Get("Set-Cookie"); !strings.Contains(got, "Secure") || !strings.Contains(got, "HttpOnly") {
				t.Errorf("login binding cookie %q: want Secure and HttpOnly (cookie.secure defaults to true)", got)
			}

			if err := r.stop(); err != nil {
				t.Errorf("serve after shutdown: %v", err)
			}
			out := r.logs.String()
			for _, want := range []string{`"msg":"authflow serving"`, `"session_store":"` + storeKind + `"`, `"msg":"shutting down"`} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %s:\n%s", want, out)
				}
			}
			if strings.Contains(out, secret) {
				t.Errorf("the client secret appears in the log:\n%s", out)
			}
		})
	}
}

// TestWithMetrics: the main listener's handler sends /metrics (GET, HEAD)
// to the metrics handler, answers its other methods with 405, and sends
// every other path to the Server.
func TestWithMetrics(t *testing.T) {
	t.Parallel()
	mark := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("X-Handler", name) })
	}
	h := withMetrics(mark("server"), mark("metrics"))
	tests := []struct {
		method, target string
		status         int
		handler        string // X-Handler, "" for none
	}{
		{http.MethodGet, "/metrics", http.StatusOK, "metrics"},
		{http.MethodHead, "/metrics", http.StatusOK, "metrics"},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/metrics/", http.StatusOK, "server"},
		{http.MethodGet, "/auth/verify", http.StatusOK, "server"},
		{http.MethodPost, "/auth/signout", http.StatusOK, "server"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
		if w.Code != tt.status || w.Header().Get("X-Handler") != tt.handler {
			t.Errorf("%s %s: %d by %q, want %d by %q", tt.method, tt.target, w.Code, w.Header().Get("X-Handler"), tt.status, tt.handler)
		}
		if tt.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tt.method, tt.target, w.Header().Get("Allow"))
		}
	}
}
