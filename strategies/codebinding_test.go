package strategies

import (
	"strings"
	"testing"
)

// TestCodeInjectionWarning: validate warns, naming the attack and the fix,
// when nothing binds the authorization code to the login's browser (no
// PKCE and no nonce), and only then.
func TestCodeInjectionWarning(t *testing.T) {
	t.Parallel()
	const file = `{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "client_secret": "${env.SECRET}",
	  {{MOD}}
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST",
	     "form": {"grant_type": "${grant_type}", "code": "${auth.code}"}},
	    {"name": "jwt", "uri": "https://idp.test/me"}]}}}`
	tests := []struct {
		name, mod string
		warn      bool
	}{
		{"pkce and nonce off", `"scope": "openid", "pkce": false, "nonce": false,`, true},
		{"pkce off, no openid scope (no nonce is sent)", `"scope": "read:user", "pkce": false,`, true},
		{"pkce off, nonce on", `"scope": "openid email", "pkce": false,`, false},
		{"pkce on, nonce off", `"scope": "openid", "nonce": false,`, false},
		{"client credentials: no code", `"scope": "api", "pkce": false, "grant_type": "client_credentials",`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Problem
			for _, p := range Check("f.json", []byte(strings.ReplaceAll(file, "{{MOD}}", tt.mod))) {
				if strings.Contains(p.Message, "code injection") {
					got = append(got, p)
				}
			}
			if !tt.warn {
				if len(got) > 0 {
					t.Errorf("unexpected warning: %v", got[0])
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one code-injection warning, got %v", got)
			}
			p := got[0]
			for _, want := range []string{"victim's code", "their own callback", "signed in as the victim", "RFC 9700", `remove "pkce": false`, "nonce"} {
				if !strings.Contains(p.Message, want) {
					t.Errorf("warning lacks %q:\n%s", want, p.Error())
				}
			}
			if p.Severity != SevWarning || p.Field != "pkce" || p.Strategy != "a" {
				t.Errorf("want a warning on strategy \"a\" field pkce, got %s", p.Error())
			}
		})
	}
}

// TestCodeInjectionWarningLinkedIn: the built-in linkedin ships with both
// off (LinkedIn supports neither for web apps, see docs/providers.md), so
// every file that uses it is told.
func TestCodeInjectionWarningLinkedIn(t *testing.T) {
	t.Parallel()
	ps := Check("f.json", []byte(`{"strategies": {"linkedin": {"client_id": "86abc", "client_secret": "${env.LINKEDIN_SECRET}"}}}`))
	for _, p := range ps {
		if p.Severity == SevWarning && p.Strategy == "linkedin" && strings.Contains(p.Message, "authorization code injection") {
			return
		}
	}
	t.Errorf("no code-injection warning for the built-in linkedin:\n%v", ps)
}
