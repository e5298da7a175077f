package strategies

import (
	"strings"
	"testing"
)

// bearerBase is a strategy with a verified jwt step; tests add keys.
const bearerBase = `"auth_uri": "https://idp.test/authorize?client_id=${client_id}", "client_id": "api", "scope": "openid",
	"steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}},
	          {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}`

const introspectStep = `, {"name": "introspect", "uri": "https://idp.test/introspect", "method": "POST", "form": {"token": "${bearer_token}"}}`

// TestBearerKeys: the bearer keys load into the plan.
func TestBearerKeys(t *testing.T) {
	t.Parallel()
	plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"a": {`+bearerBase+introspectStep+`],
		"bearer": {"audience": "${env.AUD}", "introspect": true}, "required_scopes": ["orders:read"],
		"upstream_claims": {"plan": "subscription.plan"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategy("a")
	b := sp.Bearer()
	if b == nil || !b.Introspect() || b.Audience().String() != "${env.AUD}" || strings.Join(b.RequiredScopes(), ",") != "orders:read" {
		t.Fatalf("bearer plan %+v", b)
	}
	if sp.IntrospectStep() == nil || sp.IntrospectStep().Method() != "POST" {
		t.Errorf("introspect step %+v", sp.IntrospectStep())
	}
	for _, s := range sp.LoginSteps() {
		if s.Name() == StepIntrospect {
			t.Error("the introspect step runs at login")
		}
	}
	if uc := sp.UpstreamClaims(); len(uc) != 1 || uc[0].Name != "plan" || uc[0].Path != "subscription.plan" {
		t.Errorf("upstream claims %+v", uc)
	}
	if p, err := Parse("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"a": {`+bearerBase+`], "bearer": true}}}`)); err != nil || p.Strategy("a").Bearer() == nil || p.Strategy("a").Bearer().Audience() != nil {
		t.Errorf("bearer: true: %v", err)
	}
	if p, err := Parse("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"a": {`+bearerBase+`], "bearer": false}}}`)); err != nil || p.Strategy("a").Bearer() != nil {
		t.Errorf("bearer: false: %v", err)
	}
	// Compile (strategies in Go) round-trips the keys.
	def := plan.Lookup("a")
	again, err := Compile("go", *def)
	if err != nil {
		t.Fatal(err)
	}
	if b := again.Strategy("a").Bearer(); b == nil || !b.Introspect() || again.Strategy("a").Definition().UpstreamClaims["plan"] != "subscription.plan" {
		t.Errorf("Compile lost the bearer keys: %+v", again.Strategy("a").Definition())
	}
}

// TestBearerErrors: each mistake is an error naming the strategy, step and
// field.
func TestBearerErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, strategy, want string }{
		{"bearer of the wrong type", bearerBase + `], "bearer": "yes"`, `strategy "a": bearer: must be true, false or an object`},
		{"unknown bearer field", bearerBase + `], "bearer": {"aud": "x"}`, `strategy "a": bearer.aud: unknown field (bearer takes audience and introspect)`},
		{"empty audience", bearerBase + `], "bearer": {"audience": ""}`, `strategy "a": bearer.audience: empty`},
		{"audience from the request", bearerBase + `], "bearer": {"audience": "${auth.code}"}`, `bearer.audience: ${auth.code}: bearer.audience is fixed when the engine starts`},
		{"introspect without the step", bearerBase + `], "bearer": {"introspect": true}`, `strategy "a": bearer.introspect: the strategy has no "introspect" step`},
		{"no way to verify", `"auth_uri": "https://idp.test/a", "client_id": "api", "steps": [{"name": "jwt", "uri": "https://idp.test/me"}], "bearer": true`,
			`strategy "a": bearer: needs a verified decode step named "jwt"`},
		{"unverified jwt step", `"auth_uri": "https://idp.test/a", "client_id": "api", "scope": "openid", "steps": [{"name": "jwt", "decode": "${auth.id_token}", "verify": false}], "bearer": true`,
			`strategy "a": bearer: needs a verified decode step named "jwt"`},
		{"introspect step that sends no token", bearerBase + `, {"name": "introspect", "uri": "https://idp.test/i", "method": "POST", "form": {"token": "x"}}], "bearer": {"introspect": true}`,
			`strategy "a": step "introspect": never sends ${bearer_token}`},
		{"introspect as a decode step", bearerBase + `, {"name": "introspect", "decode": "${bearer_token}", "issuer": "https://idp.test"}], "bearer": {"introspect": true}`,
			`step "introspect": decode: the introspect step is an HTTP call`},
		{"bearer token in a login step", bearerBase + `, {"name": "userinfo", "uri": "https://idp.test/me?t=${bearer_token}"}], "bearer": true`,
			`${bearer_token} is not available here`},
		{"bearer token in the introspect URI path", bearerBase + `, {"name": "introspect", "uri": "https://idp.test/${bearer_token}", "method": "POST", "form": {"token": "${bearer_token}"}}], "bearer": {"introspect": true}`,
			`may not form the scheme, host or path of a URI`},
		{"login step result in introspect", bearerBase + `, {"name": "introspect", "uri": "https://idp.test/i", "method": "POST", "form": {"token": "${bearer_token}", "x": "${token.access_token}"}}], "bearer": {"introspect": true}`,
			`step results are not kept after login`},
		{"required scopes without bearer", bearerBase + `], "required_scopes": ["a"]`, `strategy "a": required_scopes: only bearer tokens have scopes`},
		{"scope with a space", bearerBase + `], "bearer": true, "required_scopes": ["a b"]`, `required_scopes: scope 1 ("a b")`},
		{"required scopes not a list", bearerBase + `], "bearer": true, "required_scopes": "a"`, `required_scopes: must be an array of strings`},
		{"reserved upstream claim", bearerBase + `], "upstream_claims": {"sub": "id"}`, `strategy "a": upstream_claims.sub: authflow sets "sub" itself`},
		{"empty upstream path", bearerBase + `], "upstream_claims": {"plan": ""}`, `upstream_claims.plan: empty path`},
		{"template as upstream path", bearerBase + `], "upstream_claims": {"plan": "${env.X}"}`, `upstream_claims.plan: "${env.X}": a gjson path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := problemsOf(t, `{"a": {`+tc.strategy+`}}`)
			if !strings.Contains(got, tc.want) {
				t.Errorf("got:\n%s\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("two strategies introspect", func(t *testing.T) {
		t.Parallel()
		s := `{` + bearerBase + introspectStep + `], "bearer": {"introspect": true}}`
		got := problemsOf(t, `{"a": `+s+`, "b": `+strings.Replace(s, `"client_id": "api"`, `"client_id": "b", "redirect_path": "/auth/b/cb"`, 1)+`}`)
		if !strings.Contains(got, `strategy "b": bearer.introspect: strategy "a" introspects bearer tokens too`) {
			t.Errorf("got:\n%s", got)
		}
	})
}

// TestOIDCIntrospect: the built-in oidc carries an introspect step on the
// discovered introspection_endpoint.
func TestOIDCIntrospect(t *testing.T) {
	t.Parallel()
	plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"dex": {"extends": "oidc",
		"issuer": "https://dex.test", "client_id": "c", "client_secret": "${env.S}", "bearer": {"introspect": true}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	st := plan.Strategy("dex").IntrospectStep()
	if st == nil || st.URI().String() != "${discovery.introspection_endpoint}" || st.ClientAuth() != ClientAuthDiscovery {
		t.Fatalf("introspect step %+v", st)
	}
}
