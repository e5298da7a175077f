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
		{"Apple: the client secret's audience", "apple",
			`{"client_id": "com.example.web", "team_id": "ABCDE12345", "key_id": "KEY1234567",
			  "signed_client_secret": {"iss": "${team_id}", "aud": "https://appleid.apple.com/", "lifetime": "24h"}}`,
			`client_secret: claim aud "https://appleid.apple.com/", want "https://appleid.apple.com"`},
		{"Apple: the client secret signed under another key id", "apple",
			`{"client_id": "com.example.web", "team_id": "ABCDE12345", "key_id": "KEY7654321"}`,
			`client_secret: header kid "KEY7654321", want "KEY1234567"`},
		{"Apple: a GET callback where Apple posts a form", "apple",
			`{"client_id": "com.example.web", "team_id": "ABCDE12345", "key_id": "KEY1234567", "response_mode": "query"}`,
			"the provider POSTs the callback as a form (response_mode=form_post); the built-in's callback takes a GET"},
		{"Apple: the form_post login's session lacks the email", "apple",
			`{"client_id": "com.example.web", "team_id": "ABCDE12345", "key_id": "KEY1234567",
			  "claims": {"email": "is_private_email", "email_verified": "email_verified", "is_private_email": "is_private_email"}}`,
			`form_post callback: the session's email = "true", want "x7k2@privaterelay.appleid.com"`},
		{"Entra: email_verified read from xms_edov without the false default", "microsoft-common",
			`{"client_id": "6731de76-14a6-49ae-97bc-6eba6914391e", "client_secret": "${env.CLIENT_SECRET}",
			  "claims": {"email": "email", "email_verified": "xms_edov", "name": "name", "tid": "tid"}}`,
			"id_token variant 7 (no xms_edov (the optional claim is not configured)): claim email_verified = null, want false"},
		{"Entra: a multi-tenant app with one tenant's issuer", "microsoft-organizations",
			`{"client_id": "6731de76-14a6-49ae-97bc-6eba6914391e", "client_secret": "${env.CLIENT_SECRET}",
			  "steps": [{"name": "jwt", "issuer": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"}]}`,
			"id_token variant 1 (a user of the second allowed tenant): login:"},
		{"HubSpot: sign-out deletes the access token's path", "hubspot",
			`{"client_id": "5fd3a2b4-91c7-4e0a-8d2f-6b1e0c9a7d35", "client_secret": "${env.CLIENT_SECRET}",
			  "steps": [{"name": "revoke", "uri": "https://api.hubapi.com/oauth/v1/refresh-tokens/${segment:access_token}"}]}`,
			"got DELETE https://api.hubapi.com/oauth/v1/refresh-tokens/CN6H6qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKnWq0Sl8yQ2Vd9u1k: wrong method or path"},
		{"Okta: sign-out revokes the refresh token only", "okta",
			`{"okta_uri": "https://dev-123.okta.com/oauth2/default", "client_id": "0oa1b2c3", "client_secret": "${env.CLIENT_SECRET}",
			  "steps": [{"name": "revoke_access_token", "omit": true}]}`,
			"revoke: the provider expected POST https://dev-123.okta.com/oauth2/default/v1/revoke, which was never sent"},
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
