package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// TestDiscoveryAtStartAndReload: serve reads the discovery document of a
// strategy with an issuer at start, where a failure is a start-up error
// naming the URL, and at every reload, where a failure keeps the running
// strategies.
func TestDiscoveryAtStartAndReload(t *testing.T) {
	var broken atomic.Bool
	var op *httptest.Server
	op = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{
			"issuer": op.URL, "authorization_endpoint": op.URL + "/authorize",
			"token_endpoint": op.URL + "/token", "jwks_uri": op.URL + "/jwks",
		})
	}))
	defer op.Close()
	path := filepath.Join(t.TempDir(), "strategies.json")
	write := func(label string) {
		file := `{"base_uri": "http://127.0.0.1", "strategies": {"dex": {"extends": "oidc", "label": "` + label + `", "issuer": "` + op.URL +
			`", "client_id": "web", "client_secret": "${env.ACME_SECRET}"}}}`
		if err := os.WriteFile(path+".tmp", []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write("Dex")

	broken.Store(true)
	if _, err := tryServe(t, "--strategies="+path, "--step-timeout=500ms"); err == nil ||
		!strings.Contains(err.Error(), op.URL+"/.well-known/openid-configuration") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("serve with a failing discovery: %v; want a start-up error naming the URL", err)
	}

	broken.Store(false)
	r := startServe(t, "--strategies="+path, "--step-timeout=500ms")
	if p := r.br.Get("/auth/dex/login"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, op.URL+"/authorize?") {
		t.Fatalf("dex login: %d to %q", p.Status, p.Location)
	}
	broken.Store(true)
	write("Dex again")
	authtest.Eventually(t, "the failed reload in the log", func() bool {
		return strings.Contains(r.logs.String(), `"msg":"reload failed; the previous strategies stay in service"`)
	})
	if !strings.Contains(r.logs.String(), op.URL+"/.well-known/openid-configuration") {
		t.Errorf("the reload error does not name the URL:\n%s", r.logs.String())
	}
	if p := r.br.Get("/auth/dex/login"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, op.URL+"/authorize?") {
		t.Errorf("dex login after the failed reload: %d to %q; want the running strategy", p.Status, p.Location)
	}
}
