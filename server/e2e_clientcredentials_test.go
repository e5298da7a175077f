package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// TestClientCredentialsNotOffered: a client_credentials strategy beside a
// browser one is not on the chooser (which, with one strategy left, goes
// straight to it) and has no login or callback route.
func TestClientCredentialsNotOffered(t *testing.T) {
	t.Parallel()
	file := `{"strategies": {
	  "svc": {"grant_type": "client_credentials", "client_id": "basic-app", "client_secret": "${env.BASIC_SECRET}",
	          "steps": [{"name": "token", "uri": "{{IDP}}/oauth/token", "method": "POST", "client_auth": "client_secret_basic",
	                     "form": {"grant_type": "${grant_type}"}}]},
	  "devpublic": {"idp": "{{IDP}}",
	    "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
	    "client_id": "public-app", "scope": "openid email profile",
	    "steps": [
	      {"name": "token", "uri": "${idp}/oauth/token", "method": "POST",
	       "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}", "client_id": "${client_id}"}},
	      {"name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}"}]}}}`
	b := authtest.New(t, authtest.Options{Strategies: file})
	br := b.NewBrowser()
	if p := br.Get("/auth/login"); p.Status != http.StatusFound || !strings.HasSuffix(p.Location, "/auth/devpublic/login") {
		t.Errorf("chooser: %d %s, want a redirect to the one browser strategy", p.Status, p.Location)
	}
	for _, path := range []string{"/auth/svc/login", "/auth/svc/callback?code=x&state=y"} {
		if p := br.Get(path); p.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, p.Status)
		}
	}
	br.MustLogin("devpublic", authtest.Ada())
}
