package server_test

// Authorization code injection (RFC 9700 §4.5): an attacker who obtains a
// victim's authorization code (a leaked callback URL, a log, a Referer)
// starts a login of their own and sends the victim's code to the callback
// with their own state. The state check passes (it is the attacker's own
// login); only PKCE (the code was issued for the victim's code_challenge)
// or the nonce (the ID token carries the victim's nonce) tell the two
// logins apart.

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/strategies"
)

// ciStrategy is a strategy for the bench's client_secret_post client;
// {{NAME}}, {{MOD}} (keys) and {{VERIFIER}} (form members) vary by case.
const ciStrategy = `{
  "strategies": {
    "{{NAME}}": {
      "idp": "{{IDP}}",
      {{MOD}}
      "redirect_path": "/auth/devpost/callback",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "post-app",
      "client_secret": "${env.POST_SECRET}",
      "scope": "openid email profile",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", {{VERIFIER}}
                    "client_id": "${client_id}", "client_secret": "${client_secret}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" }
      ]
    }
  }
}`

// ciLinkedIn is the built-in linkedin as a user sets it up, with its
// endpoints pointed at the bench's IdP (step by step, by name) and its
// callback at the path the IdP knows for this client.
const ciLinkedIn = `{
  "strategies": {
    "linkedin": {
      "idp": "{{IDP}}",
      "redirect_path": "/auth/devpost/callback",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "post-app",
      "client_secret": "${env.POST_SECRET}",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token" },
        { "name": "jwt", "jwks_uri": "${idp}/keys", "issuer": "${idp}" },
        { "name": "userinfo", "uri": "${idp}/userinfo" },
        { "name": "refresh", "uri": "${idp}/oauth/token" }
      ]
    }
  }
}`

// TestE2ECodeInjection performs the injection against each strategy. It
// must succeed only where nothing binds the code (and then validate must
// have warned); with PKCE or with a nonce it must fail without a session.
func TestE2ECodeInjection(t *testing.T) {
	t.Parallel()
	custom := func(name, mod, verifier string) string {
		return strings.NewReplacer("{{NAME}}", name, "{{MOD}}", mod, "{{VERIFIER}}", verifier).Replace(ciStrategy)
	}
	tests := []struct {
		name, strategy, file string
	}{
		{"pkce and nonce off", "acme", custom("acme", `"pkce": false, "nonce": false,`, "")},
		{"pkce on, nonce off", "acme", custom("acme", `"nonce": false,`, `"code_verifier": "${code_verifier}",`)},
		{"nonce on, pkce off", "acme", custom("acme", `"pkce": false,`, "")},
		{"built-in linkedin", "linkedin", ciLinkedIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{Strategies: tt.file})
			set, err := strategies.Parse("ci.json", []byte(strings.ReplaceAll(tt.file, "{{IDP}}", b.IdPURL)))
			if err != nil {
				t.Fatal(err)
			}
			st := set.Lookup(tt.strategy)
			bound := !st.InsecureNoPKCE || (!st.InsecureNoNonce && slices.Contains(strings.Fields(st.Scope), "openid"))
			warned := false
			for _, w := range set.Warnings() {
				warned = warned || strings.Contains(w.Message, "authorization code injection")
			}
			if warned == bound {
				t.Errorf("code bound to the browser: %v; validate warned about code injection: %v", bound, warned)
			}

			// The victim signs in; their callback URL (with the code) leaks
			// before their browser uses it.
			victim := b.NewBrowser()
			leaked := victim.SignIn(victim.StartLogin(tt.strategy, ""), authtest.Ada())
			// The attacker starts a login of their own and hands the
			// victim's code to the callback with the attacker's state.
			attacker := b.NewBrowser()
			state := atkParam(t, attacker.StartLogin(tt.strategy, ""), "state")
			p := attacker.Get(atkQuery(t, leaked, map[string]string{"state": state}))
			status, s := attacker.Session()
			user, _ := s["user"].(map[string]any)
			injected := status == http.StatusOK && user["sub"] == authtest.Ada().ID
			switch {
			case bound && injected:
				t.Errorf("the injected code signed the attacker in as the victim: %v", s)
			case bound && p.Status < 400:
				t.Errorf("the injected callback answered %d (Location %q), want an error page", p.Status, p.Location)
			case !bound && !injected:
				t.Errorf("with nothing binding the code the injection should work (it is what the warning is about); callback %d %.200s, session %d %v",
					p.Status, p.Body, status, s)
			}
			if !bound {
				t.Logf("attack works as warned: the attacker's browser holds a session of %v", user["sub"])
			}
		})
	}
}
