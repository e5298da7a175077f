package strategies

import (
	"bytes"
	"strings"
	"testing"
)

// TestExplainResolves: explain's plan shows templates resolved as far as
// the file allows — custom variables and literal keys filled in, also
// through other variables; ${env.*}, per-login values and secrets kept.
func TestExplainResolves(t *testing.T) {
	t.Parallel()
	file := `{"base_uri": "https://app.example.com", "strategies": {"dex": {
  "dex_uri": "https://dex.example",
  "realm": "${dex_uri}/realms/main",
  "tenant": "${env.DEX_TENANT}",
  "api_key": "sk_live_0123456789abcdefABCDEF",
  "client_id": "authflow",
  "client_secret": "${env.DEX_CLIENT_SECRET}",
  "auth_uri": "${realm}/auth?client_id=${client_id}&redirect_uri=${redirect_uri}&state=${state}&key=${api_key}",
  "steps": [
    {"name": "token", "uri": "${dex_uri}/token", "method": "POST",
     "form": {"code": "${auth.code}", "client_secret": "${client_secret}", "code_verifier": "${code_verifier}"}},
    {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${realm}/keys", "issuer": "${dex_uri}"},
    {"name": "userinfo", "uri": "https://${tenant}.dex.example/userinfo",
     "config": {"headers": {"Authorization": "Bearer ${token.access_token}", "X-Api-Key": "${api_key}"}}}
  ]}}}`
	plan, err := Parse("f.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Explain(&b, plan.Strategy("dex")); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"login: redirect to https://dex.example/realms/main/auth?client_id=authflow&redirect_uri=https://app.example.com/auth/dex/callback&state=${state}&key=" + Mask,
		"1. token      POST https://dex.example/token (form)",
		"keys from https://dex.example/realms/main/keys, iss https://dex.example, aud authflow, exp",
		"3. userinfo   GET https://${tenant}.dex.example/userinfo",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	// (The definition shows the file's api_key as the browser sees it in
	// the authorize URL; the plan never fills a secret-looking literal in.)
	_, plan2, _ := strings.Cut(out, "\nplan:\n")
	if strings.Contains(plan2, "sk_live_0123456789abcdefABCDEF") {
		t.Errorf("the plan shows the literal secret:\n%s", plan2)
	}
}
