package strategies

import (
	"strings"
	"testing"
)

// TestExtends: "extends" bases any strategy on a built-in, merged exactly
// as a same-named override; a strategy named after a built-in extends it
// implicitly; an unknown name is an error that lists the built-ins.
func TestExtends(t *testing.T) {
	t.Parallel()
	const base = `"client_id": "cid", "client_secret": "${env.S}", "tenant": "acme"`
	t.Run("another name", func(t *testing.T) {
		t.Parallel()
		plan, ps := parseWithTestCatalogue(t, `{"base_uri": "https://app.example.com", "strategies": {
			"acme": {"extends": "idp", `+base+`, "scope": "openid profile",
			         "steps": [{"name": "jwt", "algorithms": ["ES256"]}]}}}`)
		if ps.HasErrors() {
			t.Fatal(ps)
		}
		st := plan.Lookup("acme")
		if !st.Builtin || st.Extends != "idp" || st.Label != "IdP" || st.Scope != "openid profile" || st.Custom["tenant"] != "acme" {
			t.Errorf("builtin %v extends %q label %q scope %q tenant %q", st.Builtin, st.Extends, st.Label, st.Scope, st.Custom["tenant"])
		}
		if _, ok := st.Custom["extends"]; ok {
			t.Error("extends became a custom variable")
		}
		if stepNames(st) != "token,jwt,refresh,revoke" || st.Step("jwt").Issuer == "" || st.Step("jwt").Algorithms[0] != "ES256" {
			t.Errorf("steps %s, jwt %+v: want the built-in's, jwt merged field by field", stepNames(st), st.Step("jwt"))
		}
		if st.RedirectPath != "/auth/acme/callback" {
			t.Errorf("redirect_path %q: the strategy's own name counts", st.RedirectPath)
		}
		if strings.Join(st.Overridden, ",") != "client_id,client_secret,tenant,scope,steps" {
			t.Errorf("overridden %v", st.Overridden)
		}
	})
	t.Run("same as a same-named override", func(t *testing.T) {
		t.Parallel()
		body := `{` + base + `, "steps": [{"name": "userinfo", "uri": "https://acme.idp.test/me"}]}`
		named, ps1 := parseWithTestCatalogue(t, `{"base_uri": "https://app.example.com", "strategies": {"idp": `+body+`}}`)
		explicit, ps2 := parseWithTestCatalogue(t, `{"base_uri": "https://app.example.com", "strategies": {"idp": {"extends": "idp", `+body[1:]+`}}`)
		if ps1.HasErrors() || ps2.HasErrors() {
			t.Fatal(ps1, ps2)
		}
		a, b := named.Lookup("idp"), explicit.Lookup("idp")
		if a.Extends != "idp" || b.Extends != "idp" || stepNames(a) != stepNames(b) || stepNames(a) != "token,jwt,userinfo,refresh,revoke" {
			t.Errorf("implicit %q %s, explicit %q %s", a.Extends, stepNames(a), b.Extends, stepNames(b))
		}
	})
	t.Run("not a built-in", func(t *testing.T) {
		t.Parallel()
		got := problemsOf(t, `{"acme": {"extends": "oidcc", "client_id": "x"}}`)
		if !strings.Contains(got, `strategy "acme": extends: "oidcc" is not a built-in`) ||
			!strings.Contains(got, "google, okta, microsoft") || strings.Contains(got, "[") {
			t.Errorf("got:\n%s\nwant the unknown name and the built-ins listed as words", got)
		}
	})
	t.Run("not a string", func(t *testing.T) {
		t.Parallel()
		if got := problemsOf(t, `{"acme": {"extends": ["google"], "client_id": "x"}}`); !strings.Contains(got, `strategy "acme": extends: must be a string`) {
			t.Errorf("got:\n%s", got)
		}
	})
	t.Run("real catalogue", func(t *testing.T) {
		t.Parallel()
		plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {
			"work": {"extends": "google", "client_id": "cid", "client_secret": "${env.S}", "label": "Work account"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		st := plan.Lookup("work")
		if st.AuthURI == "" || st.Label != "Work account" || st.Extends != "google" {
			t.Errorf("%+v", st)
		}
	})
}

// TestOmit: {"name": ..., "omit": true} drops an inherited step; omit with
// any other field, omit of no inherited step, or omit without a built-in,
// is an error.
func TestOmit(t *testing.T) {
	t.Parallel()
	const base = `"client_id": "cid", "client_secret": "${env.S}", "tenant": "acme"`
	t.Run("drops the step", func(t *testing.T) {
		t.Parallel()
		plan, ps := parseWithTestCatalogue(t, `{"base_uri": "https://app.example.com", "strategies": {
			"acme": {"extends": "idp", `+base+`, "steps": [{"name": "revoke", "omit": true}, {"name": "extra", "uri": "https://acme.idp.test/x"}]}}}`)
		if ps.HasErrors() {
			t.Fatal(ps)
		}
		if got := stepNames(plan.Lookup("acme")); got != "token,jwt,extra,refresh" {
			t.Errorf("steps %s, want token,jwt,extra,refresh", got)
		}
	})
	for _, tc := range []struct{ name, steps, want string }{
		{"with another field", `[{"name": "revoke", "omit": true, "uri": "https://x.test"}]`, `step "revoke": omit: omit drops an inherited step and takes no other field (remove uri)`},
		{"false", `[{"name": "revoke", "omit": false}]`, `step "revoke": omit: must be true`},
		{"nothing inherited of that name", `[{"name": "revok", "omit": true}]`, `step "revok": omit: the built-in "idp" has no step "revok" (it has token, jwt, refresh, revoke)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ps := parseWithTestCatalogue(t, `{"base_uri": "https://app.example.com", "strategies": {"acme": {"extends": "idp", `+base+`, "steps": `+tc.steps+`}}}`)
			if !strings.Contains(ps.Error(), tc.want) {
				t.Errorf("got:\n%v\nwant %s", ps, tc.want)
			}
		})
	}
	t.Run("no built-in", func(t *testing.T) {
		t.Parallel()
		got := problemsOf(t, `{"acme": {"client_id": "x", "steps": [{"name": "revoke", "omit": true}]}}`)
		if !strings.Contains(got, `step "revoke": omit: only a step inherited from a built-in can be omitted`) || strings.Contains(got, "unknown step field") {
			t.Errorf("got:\n%s", got)
		}
	})
}

// problemsOf checks a file of the given strategies against the real
// catalogue and returns its problems, one a line.
func problemsOf(t *testing.T, strategies string) string {
	t.Helper()
	return Check("f.json", []byte(`{"base_uri": "https://app.example.com", "strategies": `+strategies+`}`)).Error()
}
