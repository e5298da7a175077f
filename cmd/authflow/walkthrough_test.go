package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

// TestNewcomerWalkthrough follows docs/dex.md with the development OP in
// Dex's place: a strategy that extends oidc with only an issuer, a client
// id and a secret from the environment; `serve` over plain http with
// --cookie-secure=false. The browser never meets a bare page: "/" says
// "You are signed out", the login lands on "/" signed in, sign-out lands
// on "/" signed out again, and a mistyped strategy gets a styled page.
func TestNewcomerWalkthrough(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // serve listens there below
	base := "http://" + addr

	const secret = "walkthrough-client-secret-0123456789"
	op := httptest.NewUnstartedServer(nil)
	idp, err := devidp.New(devidp.Options{
		Issuer:  "http://" + op.Listener.Addr().String(),
		Clients: []devidp.Client{{ID: "authflow", Secret: secret, RedirectURIs: []string{base + "/auth/dex/callback"}}},
		Users:   []devidp.User{authtest.Ada()},
	})
	if err != nil {
		op.Close()
		t.Fatal(err)
	}
	op.Config.Handler = idp
	op.Start()
	t.Cleanup(op.Close)

	path := filepath.Join(t.TempDir(), "strategies.json")
	os.WriteFile(path, []byte(`{
  "strategies": {
    "dex": {
      "extends": "oidc",
      "label": "Dex",
      "issuer": "`+idp.Issuer()+`",
      "client_id": "authflow",
      "client_secret": "${env.AUTHFLOW_TEST_WALK_SECRET}",
      "scope": "openid email profile groups offline_access"
    }
  }
}`), 0o600)
	if code, out := runCLI(t, "validate", path); code != 0 {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
	t.Setenv("AUTHFLOW_TEST_WALK_SECRET", secret)
	startServe(t, "--strategies="+path, "--addr="+addr, "--base-uri="+base, "--cookie-secure=false")

	br := authtest.NewBrowser(t, base, authtest.BrowserOptions{IdP: idp, Home: "/"})
	if p := br.Get("/"); p.Status != http.StatusOK || !strings.Contains(p.Body, "You are signed out.") {
		t.Fatalf("GET / before the login: %d\n%s", p.Status, p.Body)
	}
	// One strategy: the chooser goes straight on.
	if p := br.Get("/auth/login"); p.Status != http.StatusFound || p.Location != base+"/auth/dex/login" {
		t.Fatalf("/auth/login: %d to %q", p.Status, p.Location)
	}
	br.MustLogin("dex", authtest.Ada()) // lands on "/"
	p := br.Get("/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `Signed in as <span id="user">`+authtest.Ada().Name+`</span>`) ||
		!strings.Contains(p.Body, `<dd id="strategy">Dex</dd>`) {
		t.Fatalf("GET / after the login: %d\n%s", p.Status, p.Body)
	}
	// offline_access: the IdP gave a refresh token, so a forced refresh works.
	if p := br.Post("/auth/refresh"); p.Status != http.StatusOK {
		t.Errorf("POST /auth/refresh: %d %s", p.Status, p.Body)
	}
	out := br.Post("/auth/signout")
	if out.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", out.Status)
	}
	if out.Location != base+"/" && !strings.HasPrefix(out.Location, idp.Issuer()) {
		t.Fatalf("sign-out to %q", out.Location)
	}
	if p := br.Get("/"); !strings.Contains(p.Body, "You are signed out.") {
		t.Errorf("GET / after sign-out:\n%s", p.Body)
	}
	if p := br.Get("/auth/dx/login"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Unknown sign-in method") {
		t.Errorf("/auth/dx/login: %d\n%s", p.Status, p.Body)
	}
}
