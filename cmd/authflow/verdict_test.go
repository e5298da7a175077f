package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// verdictStrategy is one strategy of the SPEC example's shape, named name,
// with extra keys (JSON members, may be ""; an auth_uri there replaces the
// usual one) and the given steps (nil: the usual token and jwt steps).
func verdictStrategy(name, extra string, steps []string) string {
	if steps == nil {
		steps = []string{
			`{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST",
			  "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
			           "client_id": "${client_id}", "client_secret": "${client_secret}", "code_verifier": "${code_verifier}"}}`,
			`{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://sso.acme.test"}`,
		}
	}
	keys := `"client_id": "web", "client_secret": "${env.ACME_SECRET}", "scope": "openid email"`
	if !strings.Contains(extra, `"auth_uri"`) {
		keys += `, "auth_uri": "https://sso.acme.test/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}"`
	}
	if extra != "" {
		keys += ", " + extra
	}
	return fmt.Sprintf(`%q: {%s, "steps": [%s]}`, name, keys, strings.Join(steps, ",\n"))
}

// verdictFile is a strategy file holding the given strategies.
func verdictFile(strategies ...string) string {
	return `{"base_uri": "https://app.test", "strategies": {` + strings.Join(strategies, ",\n") + `}}`
}

// TestValidateAgreesWithServe puts every file through `authflow validate`
// and through a real server start (serve, as `authflow serve` runs it) and
// asserts the same verdict: a file validate accepts starts, and a file it
// refuses does not start, with the same message.
func TestValidateAgreesWithServe(t *testing.T) {
	tokenOnly := []string{`{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST",
	  "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}}`}
	tests := []struct {
		name string
		file string
		want string // "" when the file is valid; else in validate's output and serve's error
	}{
		{"valid", verdictFile(verdictStrategy("acme", "", nil)), ""},
		{"variable cycle",
			verdictFile(verdictStrategy("acme", `"a": "${b}", "b": "${a}", "auth_uri": "https://sso.acme.test/authorize?x=${a}"`, nil)),
			`strategy "acme": a: variable cycle a → b → a`},
		{"shared redirect_path",
			verdictFile(verdictStrategy("one", `"redirect_path": "/auth/cb"`, nil), verdictStrategy("two", `"redirect_path": "/auth/cb"`, nil)),
			`strategy "two": redirect_path: "/auth/cb" is the redirect_path of strategy "one" too`},
		{"redirect_path on /auth/login",
			verdictFile(verdictStrategy("acme", `"redirect_path": "/auth/login"`, nil)),
			`strategy "acme": redirect_path: "/auth/login" is authflow's own route`},
		{"redirect_path on a strategy's login route",
			verdictFile(verdictStrategy("acme", `"redirect_path": "/auth/other/login"`, nil)),
			`strategy "acme": redirect_path: "/auth/other/login" is authflow's own route`},
		{"redirect_path on the back-channel logout route",
			verdictFile(verdictStrategy("acme", `"redirect_path": "/auth/acme/backchannel-logout"`, nil)),
			`strategy "acme": redirect_path: "/auth/acme/backchannel-logout" is authflow's own route`},
		{"redirect_path on /healthz",
			verdictFile(verdictStrategy("acme", `"redirect_path": "/healthz"`, nil)),
			`strategy "acme": redirect_path: "/healthz" is authflow's own route`},
		{"redirect_path on /metrics", // the metrics handler is on the main listener by default
			verdictFile(verdictStrategy("acme", `"redirect_path": "/metrics"`, nil)),
			`strategy "acme": redirect_path: "/metrics" is authflow's own route`},
		{"redirect_path on /",
			verdictFile(verdictStrategy("acme", `"redirect_path": "/"`, nil)),
			`strategy "acme": redirect_path: "/" is authflow's own route`},
		{"redirect_path on the JWKS",
			verdictFile(verdictStrategy("acme", `"redirect_path": "/.well-known/jwks.json"`, nil)),
			`strategy "acme": redirect_path: "/.well-known/jwks.json" is authflow's own route`},
		{"auth_uri without steps",
			verdictFile(verdictStrategy("acme", "", []string{})),
			`strategy "acme": steps: missing`},
		{"scheme-less auth_uri",
			verdictFile(verdictStrategy("acme", `"auth_uri": "sso.acme.test/authorize?client_id=${client_id}"`, nil)),
			`strategy "acme": auth_uri: must be an absolute http(s) URL`},
		{"issuer reads a step result",
			verdictFile(verdictStrategy("acme", "", []string{tokenOnly[0], `{"name": "jwt", "decode": "${token.id_token}", "issuer": "${token.iss}"}`})),
			`strategy "acme": step "jwt": issuer: ${token.iss}`},
		{"strategy named jwt",
			verdictFile(verdictStrategy("jwt", "", nil)),
			`strategy "jwt": the name "jwt" is reserved for steps`},
		{"unknown step field",
			verdictFile(verdictStrategy("acme", "", []string{tokenOnly[0], `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://sso.acme.test", "forms": {}}`})),
			`strategy "acme": step "jwt": forms: unknown step field`},
		{"token leak via jwt_key",
			verdictFile(verdictStrategy("acme", `"jwt_key": "token"`, nil)),
			`strategy "acme": jwt_key: "token" names the token step`},
	}
	t.Setenv("ACME_SECRET", "acme-secret-value")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "strategies.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}

			code, out := runCLI(t, "validate", path)
			validated := code == 0
			served, serveErr := startsServing(t, path)

			if validated != served {
				t.Errorf("validate and serve disagree: validate exit %d, serve started %v (%v)\nvalidate:\n%s", code, served, serveErr, out)
			}
			if tt.want == "" {
				if !validated || !served {
					t.Errorf("a valid file: validate exit %d, serve %v\n%s", code, serveErr, out)
				}
				return
			}
			if validated || !strings.Contains(out, path+": "+tt.want) {
				t.Errorf("validate: exit %d, want 1 and %q:\n%s", code, tt.want, out)
			}
			if served || serveErr == nil || !strings.Contains(serveErr.Error(), tt.want) {
				t.Errorf("serve: %v, want an error containing %q", serveErr, tt.want)
			}
		})
	}
}

// startsServing runs serve on the strategies file, as `authflow serve`
// does (memory store, a free port), and reports whether it started to
// serve; it then stops it. When it did not start, it returns serve's error.
func startsServing(t *testing.T, path string) (bool, error) {
	t.Helper()
	r, err := tryServe(t, "--strategies="+path, "--reload=false", "--metrics-addr=off")
	if err != nil {
		return false, err
	}
	if err := r.stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	return true, nil
}
