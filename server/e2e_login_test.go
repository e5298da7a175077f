package server_test

import (
	"net/http"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// TestLoginFlows signs in through each client type against the real IdP
// and checks what the session holds: the code flow with PKCE and nonce,
// client_secret_basic, client_secret_post and a public client, with ID
// tokens signed RS256 and ES256.
func TestLoginFlows(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{Algorithm: alg})
			for _, tc := range []struct {
				strategy string
				// userinfo: the strategy merges the userinfo answer, so the
				// groups claim (only in userinfo... and the ID token) shows.
				wantGroups bool
			}{
				{"dev", true},
				{"devpost", false},
				{"devpublic", false},
			} {
				t.Run(tc.strategy, func(t *testing.T) {
					br := b.NewBrowser()
					br.MustLogin(tc.strategy, authtest.Ada())
					status, s := br.Session()
					if status != http.StatusOK {
						t.Fatalf("/auth/session: %d %v", status, s)
					}
					user, _ := s["user"].(map[string]any)
					if s["strategy"] != tc.strategy || user["sub"] != authtest.Ada().ID || user["email"] != authtest.Ada().Email {
						t.Errorf("/auth/session = %v", s)
					}
					if _, ok := s["access_token_expires_at"].(string); !ok {
						t.Errorf("/auth/session has no access_token_expires_at: %v", s)
					}
					v := br.Verify()
					if v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Ada().ID ||
						v.Header.Get("X-Auth-Email") != authtest.Ada().Email || v.Header.Get("X-Auth-Strategy") != tc.strategy {
						t.Errorf("/auth/verify: %d %v", v.Status, v.Header)
					}
				})
			}
			b.AssertNoSecrets("logs", b.Logs.String())
		})
	}
}
