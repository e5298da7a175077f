package strategies

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestProblemMessages: each problem a newcomer meets reads as shown, with
// the line and column of what it names, and stands alone (no second,
// redundant problem about the same mistake).
func TestProblemMessages(t *testing.T) {
	t.Parallel()
	const head = `{
  "strategies": {
    "acme": {
      "auth_uri": "https://sso.acme.test/authorize",
      "client_id": "acme-web",
      "client_secret": "${env.ACME_SECRET}",
      "scope": "openid email",
      "steps": [
`
	const tail = `
        { "name": "jwt", "decode": "${token.id_token}", "jwks_uri": "https://sso.acme.test/jwks", "issuer": "https://sso.acme.test" }
      ]
    }
  }
}`
	tests := []struct {
		name  string
		steps string
		want  []string
	}{
		{"misspelt code_verifier: one problem, no PKCE warning",
			`        { "name": "token", "uri": "https://sso.acme.test/token", "method": "POST",
          "form": { "code": "${auth.code}", "code_verifier": "${code_verifer}" } },`,
			[]string{`f.json: strategy "acme": step "token": form.code_verifier: unknown variable ${code_verifer} (did you mean ${code_verifier}?) (line 10, column 45)`}},
		{"unknown step field: did you mean",
			`        { "name": "token", "uri": "https://sso.acme.test/token", "method": "POST",
          "from": { "code": "${auth.code}", "code_verifier": "${code_verifier}" } },`,
			[]string{
				`f.json: strategy "acme": step "token": from: unknown step field; did you mean "form"? (known: name, uri, method, config, form, json, client_auth, decode, jwks_uri, issuer, audience, algorithms, verify, omit) (line 10, column 11)`,
			}},
		{"a step field misspelt beyond suggestion",
			`        { "name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "headers": {},
          "form": { "code": "${auth.code}", "code_verifier": "${code_verifier}" } },`,
			[]string{
				`f.json: strategy "acme": step "token": headers: unknown step field (known: name, uri, method, config, form, json, client_auth, decode, jwks_uri, issuer, audience, algorithms, verify, omit) (line 9, column 84)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Check("f.json", []byte(head+tt.steps+tail))
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestProblemPositionJSON: a semantic problem carries its line and column
// in JSON too (validate --format json), and problems of a key a strategy
// inherits from a built-in point at the strategy.
func TestProblemPositionJSON(t *testing.T) {
	t.Parallel()
	file := "{\n  \"strategies\": {\n    \"okta\": {\n      \"client_id\": \"x\"\n    }\n  }\n}"
	ps := Check("f.json", []byte(file))
	if len(ps) == 0 {
		t.Fatal("no problem for an okta strategy without okta_uri")
	}
	for _, p := range ps {
		b, _ := json.Marshal(p)
		if p.Line != 3 || p.Col != 5 || !strings.Contains(string(b), `"line":3,"column":5`) {
			t.Errorf("%s: JSON %s, want line 3, column 5 (the strategy's key)", p.Error(), b)
		}
	}
}
