package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testredis.Stop() // a redis-server the tests started, if any
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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

// TestServeWithoutStrategiesRunsDemo: SPEC §4 — with no strategies file
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
			const secret = "acme-secret-value"
			t.Setenv("ACME_SECRET", secret)
			args := []string{"--addr=127.0.0.1:0", "--strategies=../../testdata/spec_example.json", "--session-store=" + storeKind}
			if storeKind == "redis" {
				args = append(args, "--session-redis-url="+testredis.URL(t))
			}
			v := settingsFrom(t, "", args...)
			var logs syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- serve(ctx, v, &logs, ready) }()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatalf("serve ended early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not start")
			}

			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get("http://" + addr + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
				t.Errorf("/healthz: %d %q", resp.StatusCode, body)
			}
			// One strategy: the chooser redirects straight to it, and its
			// login redirects to the IdP with the spec example's auth_uri.
			resp, err = c.Get("http://" + addr + "/auth/acme/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://sso.acme.test/authorize?") {
				t.Errorf("/auth/acme/login: %d to %q", resp.StatusCode, loc)
			}
			if got := resp.Header.Get("Set-Cookie"); !strings.Contains(got, "Secure") || !strings.Contains(got, "HttpOnly") {
				t.Errorf("login binding cookie %q: want Secure and HttpOnly (cookie.secure defaults to true)", got)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve after shutdown: %v", err)
				}
			case <-time.After(25 * time.Second):
				t.Fatal("serve did not shut down")
			}
			out := logs.String()
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
