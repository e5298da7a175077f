package server_test

// Tokens must never reach the browser. /auth/session shows the user object
// and the mapped claims, so a strategy file whose user object is the token
// step's answer (jwt_key naming the token step), or whose claims read a
// token, would hand the access, ID and refresh tokens to any script on the
// page. Such a file must be refused where serve loads it (strategies.Parse),
// so that the server never starts with it.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/strategies"
)

// tlStrategies is a one-strategy file for the bench's client_secret_post
// client, with {{MOD}} standing for the keys a case adds and {{STEPS}} for
// the login steps it adds after the jwt step.
const tlStrategies = `{
  "strategies": {
    "devpost": {
      "idp": "{{IDP}}",
      {{MOD}}
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "post-app",
      "client_secret": "${env.POST_SECRET}",
      "scope": "openid email profile offline_access",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}", "client_id": "${client_id}", "client_secret": "${client_secret}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" },{{STEPS}}
        { "name": "refresh", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "refresh_token", "refresh_token": "${refresh_token}",
                    "client_id": "${client_id}", "client_secret": "${client_secret}" } }
      ]
    }
  }
}`

// TestE2ETokenLeakRefusedAtLoad: each file would show tokens at
// /auth/session; loading it must fail. When it loads, the test logs in and
// shows what the browser would have received.
func TestE2ETokenLeakRefusedAtLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mod, steps, want string
	}{
		{"jwt_key names the token step", `"jwt_key": "token", "claims": {"sub": "jwt.sub"},`, "", `jwt_key`},
		{"claims read the token step", `"claims": {"at": "token.access_token", "rt": "token.refresh_token", "it": "token.id_token"},`, "", `claims.`},
		// The user step asks the token endpoint again (a refresh grant
		// during login): its answer is a fresh set of tokens.
		{"the user step calls the token endpoint", `"jwt_key": "again", "claims": {"sub": "jwt.sub"},`, `
        { "name": "again", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "refresh_token", "refresh_token": "${token.refresh_token}",
                    "client_id": "${client_id}", "client_secret": "${client_secret}" } },`, `jwt_key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := strings.NewReplacer("{{MOD}}", tt.mod, "{{STEPS}}", tt.steps).Replace(tlStrategies)
			_, err := strategies.Parse("leak.json", []byte(strings.ReplaceAll(file, "{{IDP}}", "http://127.0.0.1:1")))
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "/auth/session") {
					t.Errorf("refused, but the message does not name %q and /auth/session:\n%v", tt.want, err)
				}
				return
			}
			// The file loaded: this is what a page script would read.
			b := authtest.New(t, authtest.Options{Strategies: file})
			br := b.NewBrowser()
			br.MustLogin("devpost", authtest.Ada())
			status, s := br.Session()
			body, _ := json.Marshal(s)
			if status != http.StatusOK {
				t.Fatalf("/auth/session: %d %s", status, body)
			}
			b.AssertNoSecrets("/auth/session", string(body))
			t.Errorf("the file loaded; it must be refused (/auth/session: %.400s)", body)
		})
	}
}
