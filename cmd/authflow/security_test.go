package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secWrite writes a strategy file into a temporary directory.
func secWrite(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "strategies.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// secGoogle is the built-in google with the file's extra keys.
func secGoogle(extra string) string {
	return `{"base_uri": "https://app.test", "strategies": {"google": {
	  "client_id": "1234.apps.googleusercontent.com", "client_secret": "${env.GOOGLE_SECRET}"` + extra + `}}}`
}

// TestValidateTokenLeak: validate (exit 1) and explain (which loads like
// serve) refuse a strategy that would show tokens at /auth/session.
func TestValidateTokenLeak(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, extra, want string }{
		{"jwt_key names the token step", `, "jwt_key": "token"`,
			`strategy "google": jwt_key: "token" names the token step`},
		{"a claim maps the access token", `, "claims": {"at": "token.access_token"}`,
			`strategy "google": claims.at: "token.access_token" reads the token step's answer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := secWrite(t, secGoogle(tt.extra))
			code, out := runCLI(t, "validate", path)
			if code != 1 || !strings.Contains(out, tt.want) || strings.Contains(out, ": ok") {
				t.Errorf("validate: exit %d, want 1 and %q:\n%s", code, tt.want, out)
			}
			code, out = runCLI(t, "explain", path, "google")
			if code != 1 || !strings.Contains(out, tt.want) {
				t.Errorf("explain: exit %d, want 1 and %q:\n%s", code, tt.want, out)
			}
		})
	}
}

// TestValidateWarnsCodeInjection: a strategy with neither PKCE nor a nonce
// (here the built-in linkedin) validates (exit 0) with a warning that names
// the attack and the fix.
func TestValidateWarnsCodeInjection(t *testing.T) {
	t.Parallel()
	path := secWrite(t, `{"base_uri": "https://app.test", "strategies": {"linkedin": {"client_id": "86abc", "client_secret": "${env.LINKEDIN_SECRET}"}}}`)
	code, out := runCLI(t, "validate", path)
	want := path + `: warning: strategy "linkedin": pkce: authorization code injection: with "pkce": false and "nonce": false, nothing binds the code to the browser that started the login`
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "RFC 9700") || !strings.Contains(out, path+": ok") {
		t.Errorf("validate: exit %d, want 0, %q and ok:\n%s", code, want, out)
	}
}
