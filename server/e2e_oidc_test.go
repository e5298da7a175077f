package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// oidcStrategies configures the bench's three clients with nothing but the
// built-in oidc: an issuer, a client id and, for the confidential clients,
// a secret. Everything else comes from the IdP's discovery document, read
// when the engine starts. The post-only client pins its method (the
// document lists client_secret_basic too, which it would pick).
const oidcStrategies = `{"strategies": {
  "dev": {"extends": "oidc", "issuer": "{{IDP}}", "client_id": "basic-app", "client_secret": "${env.BASIC_SECRET}",
          "scope": "openid email profile offline_access"},
  "devpost": {"extends": "oidc", "issuer": "{{IDP}}", "client_id": "post-app", "client_secret": "${env.POST_SECRET}",
              "steps": [{"name": "token", "client_auth": "client_secret_post"}, {"name": "refresh", "client_auth": "client_secret_post"},
                        {"name": "revoke", "omit": true}]},
  "devpublic": {"extends": "oidc", "issuer": "{{IDP}}", "client_id": "public-app"}
}}`

// TestLoginOIDCDiscovery logs in end to end through the real OP (zitadel's
// op) with strategies that extend the built-in oidc, each client
// authenticating as the discovery document says (Basic for basic-app, none
// for the public client) or as pinned (post-app), then refreshes and signs
// out.
func TestLoginOIDCDiscovery(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: oidcStrategies})
	for _, name := range []string{"dev", "devpost", "devpublic"} {
		t.Run(name, func(t *testing.T) {
			br := b.NewBrowser()
			br.MustLogin(name, authtest.Ada())
			status, s := br.Session()
			user, _ := s["user"].(map[string]any)
			if status != http.StatusOK || s["strategy"] != name || user["sub"] != authtest.Ada().ID || user["email"] != authtest.Ada().Email {
				t.Fatalf("/auth/session: %d %v", status, s)
			}
			if v := br.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Ada().ID || v.Header.Get("X-Auth-Email") != authtest.Ada().Email {
				t.Errorf("/auth/verify: %d %v", v.Status, v.Header)
			}
			if name == "dev" {
				if p := br.Post("/auth/refresh"); p.Status != http.StatusOK {
					t.Errorf("/auth/refresh: %d %s", p.Status, p.Body)
				}
			}
			if p := br.Post("/auth/signout"); p.Status >= 400 {
				t.Errorf("/auth/signout: %d %s", p.Status, p.Body)
			}
			if status, _ := br.Session(); status != http.StatusUnauthorized {
				t.Errorf("/auth/session after sign-out: %d", status)
			}
		})
	}
	s := b.App().Engine.Strategy("dev")
	if !strings.HasSuffix(s.DiscoveryURL(), "/.well-known/openid-configuration") {
		t.Errorf("dev: discovery URL %q", s.DiscoveryURL())
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}
