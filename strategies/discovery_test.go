package strategies

import (
	"strings"
	"testing"

	"github.com/authflow/authflow/interp"
)

// TestDiscoveryScope: ${discovery.NAME} is read in every template but a
// variable's value, of a strategy with an issuer; it may form a URI's
// scheme, host and path (fixed at start, from the configured issuer).
func TestDiscoveryScope(t *testing.T) {
	t.Parallel()
	plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {
		"dex": {"extends": "oidc", "issuer": "https://dex.example.com", "client_id": "c"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategy("dex")
	if !sp.Discovery() {
		t.Error("Discovery() = false")
	}
	b := sp.AuthURI().Bindings()[0]
	if b.Source != FromDiscovery || b.Origin != interp.Discovered || b.Path != "authorization_endpoint" || b.InQuery {
		t.Errorf("auth_uri's first binding %+v", b)
	}
	if sp.LoginSteps()[0].ClientAuth() != ClientAuthDiscovery {
		t.Errorf("token step client_auth %q", sp.LoginSteps()[0].ClientAuth())
	}
	for _, tc := range []struct{ name, strategy, want string }{
		{"no issuer", `{"auth_uri": "${discovery.authorization_endpoint}?client_id=${client_id}", "client_id": "c",
			"steps": [{"name": "jwt", "uri": "https://x.test/me"}]}`,
			`auth_uri: ${discovery.authorization_endpoint}: the strategy has no "issuer" key`},
		{"no member", `{"extends": "oidc", "issuer": "https://i.test", "client_id": "c", "auth_uri": "${discovery}?a=b"}`,
			`auth_uri: ${discovery} names no member of the discovery document`},
		{"in a variable", `{"extends": "oidc", "issuer": "https://i.test", "client_id": "c", "api": "${discovery.token_endpoint}"}`,
			`api: ${discovery.token_endpoint}: a variable may read only ${env.NAME} and other variables`},
		{"unknown client_auth", `{"extends": "oidc", "issuer": "https://i.test", "client_id": "c", "steps": [{"name": "token", "client_auth": "basic"}]}`,
			`step "token": client_auth: "basic" is not one of client_secret_basic, client_secret_post, none, discovery`},
		{"client_auth and a credential in the form", `{"extends": "oidc", "issuer": "https://i.test", "client_id": "c",
			"steps": [{"name": "token", "form": {"code": "${auth.code}", "client_secret": "${client_secret}"}}]}`,
			`step "token": form.client_secret: client_auth sends the client's credentials: remove client_secret from the form`},
		{"client_auth and config.auth", `{"extends": "oidc", "issuer": "https://i.test", "client_id": "c",
			"steps": [{"name": "token", "config": {"auth": {"username": "${client_id}", "password": "${client_secret}"}}}]}`,
			`step "token": client_auth: config.auth authenticates the client too`},
		{"client_auth discovery without an issuer", `{"auth_uri": "https://x.test/a", "client_id": "c", "steps": [
			{"name": "token", "uri": "https://x.test/t", "method": "POST", "client_auth": "discovery", "form": {"code": "${auth.code}"}},
			{"name": "jwt", "uri": "https://x.test/me"}]}`,
			`client_auth: "discovery" follows the discovery document, and the strategy has no "issuer" key`},
		{"oidc without issuer", `{"extends": "oidc", "client_id": "c"}`,
			`strategy "acme": issuer: missing: set "issuer" in the strategy`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := problemsOf(t, `{"acme": `+tc.strategy+`}`); !strings.Contains(got, tc.want) {
				t.Errorf("got:\n%s\nwant %s", got, tc.want)
			}
		})
	}
}
