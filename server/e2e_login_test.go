package server_test

import (
	"net/http"
	"testing"
)

// TestLoginFlows signs in through each client type against the real IdP
// and checks what the session holds: the code flow with PKCE and nonce,
// client_secret_basic, client_secret_post and a public client, with ID
// tokens signed RS256 and ES256.
func TestLoginFlows(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		b := newBench(t, benchOptions{Algorithm: alg})
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
			t.Run(alg+"/"+tc.strategy, func(t *testing.T) {
				br := b.NewBrowser()
				br.MustLogin(tc.strategy, ada)
				status, s := br.Session()
				if status != http.StatusOK {
					t.Fatalf("/auth/session: %d %v", status, s)
				}
				user, _ := s["user"].(map[string]any)
				if s["strategy"] != tc.strategy || user["sub"] != ada.ID || user["email"] != ada.Email {
					t.Errorf("/auth/session = %v", s)
				}
				if _, ok := s["access_token_expires_at"].(string); !ok {
					t.Errorf("/auth/session has no access_token_expires_at: %v", s)
				}
				v := br.Verify()
				if v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != ada.ID ||
					v.Header.Get("X-Auth-Email") != ada.Email || v.Header.Get("X-Auth-Strategy") != tc.strategy {
					t.Errorf("/auth/verify: %d %v", v.Status, v.Header)
				}
			})
		}
		b.assertNoSecrets("logs", b.Logs.String())
	}
}
