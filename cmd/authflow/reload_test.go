package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
)

// strategyFile returns a strategy file with one strategy per name, each a
// copy of the SPEC example's shape.
func strategyFile(names ...string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf(`%q: {
      "auth_uri": "https://sso.%s.test/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "web", "client_secret": "${env.ACME_SECRET}", "scope": "openid email",
      "steps": [
        { "name": "token", "uri": "https://sso.%s.test/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "client_id": "${client_id}", "client_secret": "${client_secret}", "code_verifier": "${code_verifier}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "https://sso.%s.test" }
      ]
    }`, n, n, n, n))
	}
	return `{"strategies": {` + strings.Join(parts, ",\n") + `}}`
}

// running is a serve started by startServe or tryServe.
type running struct {
	t    *testing.T
	logs *authtest.LogBuffer
	br   *authtest.Browser // on its address
	stop func() error      // stops serve and returns its error; idempotent
}

// startServe runs serve with args until the test ends, or fails the test
// when serve does not start.
func startServe(t *testing.T, args ...string) *running {
	t.Helper()
	r, err := tryServe(t, args...)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	return r
}

// tryServe runs serve, as `authflow serve` does, with args on a free port
// and ACME_SECRET set. It returns once serve serves, or serve's error when
// serve ends first. A started serve stops at r.stop or when the test ends;
// its log is shown when the test fails.
func tryServe(t *testing.T, args ...string) (*running, error) {
	t.Helper()
	t.Setenv("ACME_SECRET", "acme-secret-value")
	v := settingsFrom(t, "", append([]string{"--addr=127.0.0.1:0"}, args...)...)
	logs := &authtest.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, v, logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		return nil, err
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve neither started nor failed")
	}
	r := &running{t: t, logs: logs, br: authtest.NewBrowser(t, "http://"+addr, authtest.BrowserOptions{})}
	r.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(25 * time.Second):
			return errors.New("serve did not stop")
		}
	})
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs)
		}
	})
	return r, nil
}

// status returns the status of GET path, not following redirects.
func (r *running) status(path string) int {
	r.t.Helper()
	return r.br.Get(path).Status
}

// body returns the body of GET path, not following redirects.
func (r *running) body(path string) string {
	r.t.Helper()
	return r.br.Get(path).Body
}

// TestReloadOnChange: a changed file is put in service; a broken one is
// refused with the old strategies kept and the error logged; metrics count
// both.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "strategies.json")
	write := func(content string) {
		// Write then rename, as editors do.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(strategyFile("acme"))
	r := startServe(t, "--strategies="+path)
	if got := r.status("/auth/acme/login"); got != http.StatusFound {
		t.Fatalf("acme login: %d", got)
	}
	if got := r.status("/auth/beta/login"); got != http.StatusNotFound {
		t.Fatalf("beta login before reload: %d, want 404", got)
	}

	write(strategyFile("acme", "beta"))
	authtest.Eventually(t, "beta after the file changed", func() bool { return r.status("/auth/beta/login") == http.StatusFound })
	authtest.Eventually(t, "beta's callback route", func() bool { return r.status("/auth/beta/callback") == http.StatusBadRequest })

	write(`{"strategies": {"jwt": {}}}`)
	authtest.Eventually(t, "the failed reload in the log", func() bool {
		return strings.Contains(r.logs.String(), `"msg":"reload failed; the previous strategies stay in service"`)
	})
	if got := r.status("/auth/beta/login"); got != http.StatusFound {
		t.Errorf("after a broken file, beta login: %d, want the old strategies (302)", got)
	}
	if !strings.Contains(r.logs.String(), `the name \"jwt\" is reserved`) {
		t.Errorf("the reload error does not say why:\n%s", r.logs.String())
	}

	m := r.body("/metrics")
	for _, want := range []string{`authflow_reloads_total{outcome="ok"} 1`, `authflow_reloads_total{outcome="error"} 1`, "go_goroutines"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(r.logs.String(), "acme-secret-value") {
		t.Error("the client secret appears in the log")
	}
}

// TestReloadOnSIGHUP: with watching off, the file is reread on SIGHUP only.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "strategies.json")
	os.WriteFile(path, []byte(strategyFile("acme")), 0o600)
	r := startServe(t, "--strategies="+path, "--reload=false", "--metrics-addr=off")

	os.WriteFile(path, []byte(strategyFile("acme", "beta")), 0o600)
	// Kept real-time wait: proving that no reload follows takes longer than
	// the watcher's debounce, a 250ms timer inside serve on real time.
	time.Sleep(500 * time.Millisecond)
	if got := r.status("/auth/beta/login"); got != http.StatusNotFound {
		t.Fatalf("beta before SIGHUP with reload=false: %d, want 404", got)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	authtest.Eventually(t, "beta after SIGHUP", func() bool { return r.status("/auth/beta/login") == http.StatusFound })
	if !strings.Contains(r.logs.String(), `"reason":"SIGHUP"`) {
		t.Errorf("log does not name SIGHUP:\n%s", r.logs.String())
	}
	if got := r.status("/metrics"); got != http.StatusNotFound {
		t.Errorf("/metrics with metrics.addr=off: %d, want 404", got)
	}
}

// TestMetricsOnSeparateAddr: metrics.addr moves /metrics off the main
// listener.
func TestMetricsOnSeparateAddr(t *testing.T) {
	r := startServe(t, "--strategies=../../testdata/spec_example.json", "--metrics-addr=127.0.0.1:0")
	if got := r.status("/metrics"); got != http.StatusNotFound {
		t.Errorf("/metrics on the main address: %d, want 404", got)
	}
	var maddr string
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"metrics serving"`) {
			_, rest, _ := strings.Cut(line, `"addr":"`)
			maddr, _, _ = strings.Cut(rest, `"`)
		}
	}
	if maddr == "" {
		t.Fatalf("no metrics address in the log:\n%s", r.logs.String())
	}
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "go_goroutines") {
		t.Errorf("metrics address: %d\n%.300s", resp.StatusCode, b)
	}
}
