package contract

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContractCatchesMistakes shows that the contracts can fail: each case
// changes one thing about a built-in, the way a mistaken catalogue edit
// would (through the user's strategy, which overrides the built-in step by
// step), and the contract test must name the mistake.
func TestContractCatchesMistakes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, provider, strategy, want string
	}{
		{"client auth: Basic where the provider wants the POST body", "google",
			`{"client_id": "1234-abc.apps.googleusercontent.com", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "token",
			  "config": {"auth": {"username": "${client_id}", "password": "${client_secret}"}},
			  "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}"}}]}`,
			"the provider wants client_id and client_secret in the body (client_secret_post)"},
		{"client auth: the secret in the body as well as in Basic", "xero",
			`{"client_id": "xero-client", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "refresh",
			  "form": {"grant_type": "refresh_token", "refresh_token": "${refresh_token}", "client_id": "${client_id}", "client_secret": "${client_secret}"}}]}`,
			"client_secret in the body as well as in Basic"},
		{"client auth: POST where discovery promises Basic", "oidc",
			`{"issuer": "https://idp.example.com", "client_id": "oidc-client", "client_secret": "${env.CLIENT_SECRET}",
			  "steps": [{"name": "token", "client_auth": "client_secret_post"}]}`,
			"the provider wants HTTP Basic with the client id and secret (client_secret_basic)"},
		{"a missing parameter: refresh without redirect_uri", "gitlab",
			`{"client_id": "gl-app-id", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "refresh",
			  "form": {"grant_type": "refresh_token", "refresh_token": "${refresh_token}", "client_id": "${client_id}", "client_secret": "${client_secret}"}}]}`,
			"body: redirect_uri is missing"},
		{"a missing parameter: no code_verifier for a PKCE login", "amazon",
			`{"client_id": "amzn1.application-oa2-client.0123", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "token",
			  "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "client_id": "${client_id}", "client_secret": "${client_secret}"}}]}`,
			"body: code_verifier is missing"},
		{"PKCE sent to a provider that refuses it", "linkedin",
			`{"client_id": "86abc", "client_secret": "${env.CLIENT_SECRET}", "pkce": true, "steps": [{"name": "token",
			  "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "client_id": "${client_id}", "client_secret": "${client_secret}", "code_verifier": "${code_verifier}"}}]}`,
			"the provider documents no PKCE for this client"},
		{"the wrong path", "discord",
			`{"client_id": "1122334455", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "revoke", "uri": "https://discord.com/api/oauth2/revoke"}]}`,
			"got POST https://discord.com/api/oauth2/revoke: wrong method or path"},
		{"the wrong method", "github",
			`{"client_id": "Iv1.abc", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "revoke", "method": "POST"}]}`,
			"got POST https://api.github.com/applications/Iv1.abc/token: wrong method or path"},
		{"a provider quirk: Yandex's OAuth authorization scheme", "yandex",
			`{"client_id": "yandex-client", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "jwt",
			  "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]}`,
			`header Authorization: "Bearer y0_contract", want "OAuth y0_contract"`},
		{"a provider quirk: LINE revokes access_token, not RFC 7009's token", "line",
			`{"client_id": "1234567890", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "revoke",
			  "form": {"token": "${access_token}", "client_id": "${client_id}", "client_secret": "${client_secret}"}}]}`,
			"body: access_token is missing (want line-at2)"},
		{"a documented step left out", "google",
			`{"client_id": "1234-abc.apps.googleusercontent.com", "client_secret": "${env.CLIENT_SECRET}", "steps": [{"name": "revoke", "omit": true}]}`,
			"the provider documents revocation; the built-in has no revoke step"},
		{"the wrong issuer", "authentik",
			`{"authentik_uri": "https://authentik.example.com", "application": "authflow", "client_id": "authentik-client", "client_secret": "${env.CLIENT_SECRET}",
			  "issuer": "${authentik_uri}/application/o/${application}"}`,
			`names issuer "https://authentik.example.com/application/o/authflow/", want "https://authentik.example.com/application/o/authflow" (byte for byte)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(contractsDir, tc.provider+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var c contract
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			_, findings := play(tc.provider, &c, json.RawMessage(tc.strategy))
			all := strings.Join(findings, "\n")
			if !strings.Contains(all, tc.want) {
				t.Errorf("the contract of %s did not catch it: want a finding with %q, got:\n%s", tc.provider, tc.want, all)
			}
		})
	}
}
