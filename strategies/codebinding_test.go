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
		{"pkce off, nonce on, but no step decodes an ID token (the nonce is checked nowhere)", `"scope": "openid email", "pkce": false,`, true},
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

// TestCodeInjectionWarningNonceChecked: a nonce binds the code only where
// the user step decodes the ID token that carries it; then validate is
// silent without PKCE. The line built-in with "openid" added and PKCE off
// (its user step is the /v2/profile API) is warned about.
func TestCodeInjectionWarningNonceChecked(t *testing.T) {
	t.Parallel()
	verified := `{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "client_secret": "${env.SECRET}",
	  "scope": "openid email", "pkce": false,
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST",
	     "form": {"grant_type": "${grant_type}", "code": "${auth.code}"}},
	    {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "https://idp.test/jwks", "issuer": "https://idp.test"}]}}}`
	line := `{"base_uri": "https://app.test", "strategies": {"line": {"client_id": "1234567890", "client_secret": "${env.SECRET}",
	  "scope": "profile openid", "pkce": false,
	  "steps": [{"name": "token", "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
	    "client_id": "${client_id}", "client_secret": "${client_secret}"}}]}}}`
	for _, tt := range []struct {
		name, file string
		warn       bool
	}{
		{"nonce checked in the decoded ID token", verified, false},
		{"line with openid and pkce off: nothing checks the nonce", line, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []Problem
			for _, p := range Check("f.json", []byte(tt.file)) {
				if p.Field == "pkce" && strings.Contains(p.Message, "authorization code injection") {
					got = append(got, p)
				}
			}
			if tt.warn != (len(got) == 1) || len(got) > 1 {
				t.Errorf("want warning %v, got %v", tt.warn, got)
			}
			if tt.warn && len(got) == 1 && !strings.Contains(got[0].Message, "checked nowhere") {
				t.Errorf("the warning does not say why the nonce does not bind the code:\n%s", got[0].Error())
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
