package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// This file runs issue #10's items 5, 6 and 15 through the real server and
// the real IdP: a man in the middle of the back channel rewrites the user
// step's answer (an HTTP step reading the IdP's userinfo endpoint, as a
// strategy for GitHub's /user does). Each rewrite must end on authflow's
// error page, without a session; before the fixes each signed the browser
// in, with X-Auth-User "" or JSON, with the IdP's error as the user, or
// with X-Auth-User and /auth/session naming two different users.

// idtStrategies has one strategy, devpost (client_secret_post), whose user
// step is an HTTP step: the IdP's userinfo answer is the user object.
const idtStrategies = `{
  "strategies": {
    "devpost": {
      "idp": "{{IDP}}",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "post-app",
      "client_secret": "${env.POST_SECRET}",
      "scope": "openid email profile",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}", "client_id": "${client_id}", "client_secret": "${client_secret}" } },
        { "name": "jwt", "uri": "${idp}/userinfo",
          "config": { "headers": { "Authorization": "Bearer ${token.access_token}" } } }
      ]
    }
  }
}`

// idtObject decodes a userinfo answer, failing the test if it is not an
// object.
func idtObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("userinfo answer is not a JSON object: %v", err)
	}
	return m
}

// idtEncode encodes a userinfo answer.
func idtEncode(m map[string]any) []byte {
	b, _ := json.Marshal(m)
	return b
}

// TestE2EUserAnswerSoundness signs in through the real IdP with the user
// step's answer rewritten; each rewrite must fail the login on the
// friendly error page, logged under its reference with the outcome and the
// cause, and leave no session.
func TestE2EUserAnswerSoundness(t *testing.T) {
	t.Parallel()
	tp := authtest.NewRewriter("/userinfo")
	b := authtest.New(t, authtest.Options{Strategies: idtStrategies, Tamper: tp.Tamper})

	tests := []struct {
		name    string
		rewrite func(t *testing.T, body []byte) []byte
		status  int
		page    string // the page says this
		outcome string // the log entry's outcome
		cause   string // the log entry's error names this
	}{
		// Item 5: every login ends with a subject.
		{"no sub", func(t *testing.T, body []byte) []byte {
			m := idtObject(t, body)
			delete(m, "sub")
			return idtEncode(m)
		}, http.StatusBadGateway, "Sign-in failed", "bad_response", "no subject"},
		{"empty sub", func(t *testing.T, body []byte) []byte {
			m := idtObject(t, body)
			m["sub"] = ""
			return idtEncode(m)
		}, http.StatusBadGateway, "Sign-in failed", "bad_response", "no subject"},
		{"sub an object", func(t *testing.T, body []byte) []byte {
			m := idtObject(t, body)
			m["sub"] = map[string]any{"id": authtest.Bob().ID}
			return idtEncode(m)
		}, http.StatusBadGateway, "Sign-in failed", "bad_response", "no subject"},
		// Item 6: an error inside a 200 is the IdP's refusal.
		{"error object in a 200", func(t *testing.T, body []byte) []byte {
			m := idtObject(t, body)
			m["error"] = map[string]any{"code": 1, "message": "rate limited"}
			return idtEncode(m)
		}, http.StatusBadGateway, "refused the sign-in", "provider_error", "identity provider refused jwt (HTTP 200)"},
		// Item 15: one document, two readings.
		{"sub twice", func(t *testing.T, body []byte) []byte {
			m := idtObject(t, body)
			delete(m, "sub")
			rest := string(idtEncode(m))
			return []byte(fmt.Sprintf(`{"sub":%q,%s,"sub":%q}`, authtest.Ada().ID, rest[1:len(rest)-1], authtest.Bob().ID))
		}, http.StatusBadGateway, "Sign-in failed", "bad_response", `duplicate key "sub"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := b.NewBrowser()
			cb := br.SignIn(br.StartLogin("devpost", ""), authtest.Ada())
			tp.Arm(func(body []byte) []byte { return tt.rewrite(t, body) })
			p := br.Get(cb)
			applied := tp.Applied()
			tp.Arm(nil)
			if applied != 1 {
				t.Fatalf("the userinfo answer was rewritten %d times, want 1", applied)
			}
			if p.Status == http.StatusFound {
				status, s := br.Session()
				t.Fatalf("login succeeded: X-Auth-User %q; /auth/session %d %v",
					br.Verify().Header.Get("X-Auth-User"), status, s)
			}
			idtFailPage(t, b, p, tt.status, tt.page, tt.outcome, tt.cause)
			if status, s := br.Session(); status != http.StatusUnauthorized {
				t.Errorf("/auth/session: %d %v, want 401 (no session)", status, s)
			}
			b.AssertNoSecrets("page", p.Body)
		})
	}

	// Untampered, the same bench signs in, and both views name one user.
	br := b.NewBrowser()
	br.MustLogin("devpost", authtest.Ada())
	status, s := br.Session()
	user, _ := s["user"].(map[string]any)
	if v := br.Verify(); status != http.StatusOK || user["sub"] != authtest.Ada().ID || v.Header.Get("X-Auth-User") != authtest.Ada().ID {
		t.Errorf("untampered login: /auth/session %d %v, X-Auth-User %q; want %s in both", status, s, v.Header.Get("X-Auth-User"), authtest.Ada().ID)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// idtFailPage checks that p is the error page with that status and text,
// whose reference id names a "login failed" log entry with the outcome and
// an error naming the cause.
func idtFailPage(t *testing.T, b *authtest.Bench, p *authtest.Page, status int, text, outcome, cause string) {
	t.Helper()
	if p.Status != status || !strings.Contains(p.Body, text) {
		t.Errorf("status %d, want %d saying %q; body: %.300s", p.Status, status, text, p.Body)
	}
	ref := p.Ref()
	e := b.Logs.WithRef(ref)
	if ref == "" || e == nil {
		t.Fatalf("no log entry for the page's reference %q", ref)
	}
	if e["outcome"] != outcome {
		t.Errorf("log entry %v: outcome %v, want %q", e, e["outcome"], outcome)
	}
	if msg, _ := e["error"].(string); !strings.Contains(msg, cause) {
		t.Errorf("log entry's error %q does not name %q", msg, cause)
	}
}
