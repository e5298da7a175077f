package strategies

import (
	"strings"
	"testing"
)

// ccToken is a client_credentials token step.
const ccToken = `{"name": "token", "uri": "https://idp.test/token", "method": "POST", "client_auth": "client_secret_basic", "form": {"grant_type": "${grant_type}"}}`

// TestGrantChecks: what each grant type asks of a strategy, each problem
// named by strategy, step and field.
func TestGrantChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		strategy  string // the "s" strategy's members
		step      string
		field     string
		wantError string // "" for a file without errors
	}{
		{name: "client credentials", strategy: `"grant_type": "client_credentials", "client_id": "c", "client_secret": "${env.S}", "steps": [` + ccToken + `]`},
		{name: "client credentials with auth_uri", strategy: `"grant_type": "client_credentials", "auth_uri": "https://idp.test/a", "client_id": "c", "steps": [` + ccToken + `]`,
			field: "auth_uri", wantError: "a client_credentials strategy has no user and no browser login"},
		{name: "client credentials without token step", strategy: `"grant_type": "client_credentials", "client_id": "c", "steps": []`,
			field: "steps", wantError: `needs a "token" step`},
		{name: "client credentials with a jwt step", strategy: `"grant_type": "client_credentials", "client_id": "c", "steps": [` + ccToken + `, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			step: "jwt", wantError: "runs only its token step"},
		{name: "client credentials with a refresh step", strategy: `"grant_type": "client_credentials", "client_id": "c", "steps": [` + ccToken + `, {"name": "refresh", "uri": "https://idp.test/token", "method": "POST", "form": {"r": "${refresh_token}"}}]`,
			step: "refresh", wantError: "not a refresh token"},
		{name: "client credentials with device_uri", strategy: `"grant_type": "client_credentials", "device_uri": "https://idp.test/d", "client_id": "c", "steps": [` + ccToken + `]`,
			field: "device_uri", wantError: "no browser login: remove device_uri"},
		{name: "device only", strategy: `"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_uri": "https://idp.test/d", "client_id": "c", "scope": "openid",
			"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}", "device_code": "${device_code}"}},
			          {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`},
		{name: "device grant without device_uri", strategy: `"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "c", "scope": "openid",
			"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			field: "device_uri", wantError: "missing"},
		{name: "device_code without device_uri", strategy: `"auth_uri": "https://idp.test/a", "client_id": "c", "scope": "openid", "pkce": false,
			"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"code": "${auth.code}", "d": "${device_code}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			step: "token", field: "form.d", wantError: "${device_code}: the strategy has no device_uri"},
		{name: "device_uri with a GET token step", strategy: `"auth_uri": "https://idp.test/a", "device_uri": "https://idp.test/d", "client_id": "c", "scope": "openid", "pkce": false,
			"steps": [{"name": "token", "uri": "https://idp.test/token?code=${auth.code}"}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			step: "token", field: "form", wantError: "a device login polls this step with a form POST"},
		{name: "device_uri with a fixed grant_type", strategy: `"auth_uri": "https://idp.test/a", "device_uri": "https://idp.test/d", "client_id": "c", "scope": "openid",
			"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "authorization_code", "code": "${auth.code}", "code_verifier": "${code_verifier}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			step: "token", field: "form.grant_type", wantError: "write \"${grant_type}\""},
		{name: "device_uri reads the callback", strategy: `"auth_uri": "https://idp.test/a", "device_uri": "https://idp.test/d?x=${auth.code}", "client_id": "c", "scope": "openid",
			"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			field: "device_uri", wantError: "fixed when the engine starts"},
		{name: "device_uri discovery without issuer", strategy: `"auth_uri": "https://idp.test/a", "device_uri": "${discovery.device_authorization_endpoint}", "client_id": "c", "scope": "openid",
			"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]`,
			field: "device_uri", wantError: `the strategy has no "issuer" key`},
		{name: "oidc client credentials", strategy: `"extends": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "${env.S}", "grant_type": "client_credentials", "scope": "api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := `{"base_uri": "https://app.test", "strategies": {"s": {` + tt.strategy + `}}}`
			ps := Check("f.json", []byte(file))
			if tt.wantError == "" {
				if ps.HasErrors() {
					t.Fatalf("unexpected errors:\n%v", ps)
				}
				return
			}
			for _, p := range ps {
				if p.Severity == SevError && p.Strategy == "s" && p.Step == tt.step && p.Field == tt.field && strings.Contains(p.Message, tt.wantError) {
					return
				}
			}
			t.Fatalf("no error at step %q field %q containing %q:\n%v", tt.step, tt.field, tt.wantError, ps)
		})
	}
}

// TestGrantPlans: what the compiled plans say of each kind of login.
func TestGrantPlans(t *testing.T) {
	t.Parallel()
	plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.test", "strategies": {
	  "svc": {"extends": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "${env.S}", "grant_type": "client_credentials"},
	  "web": {"extends": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "${env.S}"},
	  "cli": {"extends": "oidc", "issuer": "https://idp.test", "client_id": "c", "device_uri": ""}}}`))
	if err != nil {
		t.Fatal(err)
	}
	svc, web, cli := plan.Strategy("svc"), plan.Strategy("web"), plan.Strategy("cli")
	if !svc.ClientCredentials() || svc.BrowserLogin() || svc.DeviceURI() != nil || svc.LogoutURI() != nil || len(svc.LoginSteps()) != 1 || svc.RefreshStep() != nil {
		t.Errorf("svc: client credentials %v, browser %v, device %v, logout %v, %d login steps, refresh %v",
			svc.ClientCredentials(), svc.BrowserLogin(), svc.DeviceURI(), svc.LogoutURI(), len(svc.LoginSteps()), svc.RefreshStep())
	}
	if web.ClientCredentials() || !web.BrowserLogin() || web.DeviceURI() == nil || web.DeviceURI().String() != "${discovery.device_authorization_endpoint}" {
		t.Errorf("web: browser %v, device %v", web.BrowserLogin(), web.DeviceURI())
	}
	if cli.DeviceURI() != nil {
		t.Errorf(`cli: "device_uri": "" left %v`, cli.DeviceURI())
	}
}
