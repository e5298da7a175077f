package strategies

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/authflow/authflow/interp"
)

// TestScopeTable: what each phase may read, and how far each value is
// trusted, as the table says; validation and the compiled bindings both
// come from it.
func TestScopeTable(t *testing.T) {
	t.Parallel()
	want := map[Phase]string{
		PhaseVariable:  "env",
		PhaseFixed:     "env discovery",
		PhaseAuthorize: "env discovery state nonce code_challenge redirect_uri login",
		PhaseLogin:     "env discovery state nonce code_verifier code_challenge redirect_uri auth login device_code",
		PhaseRefresh:   "env discovery redirect_uri access_token refresh_token id_token",
		PhaseRevoke:    "env discovery redirect_uri access_token refresh_token id_token",
		PhaseLogout:    "env discovery redirect_uri id_token post_logout_redirect_uri",
	}
	for p, w := range want {
		var got []string
		for _, e := range scopeTable {
			if slices.Contains(e.phases, p) {
				got = append(got, e.root)
			}
		}
		if strings.Join(got, " ") != w {
			t.Errorf("%s reads %v, want %s", p, got, w)
		}
	}
	for root, origin := range map[string]interp.Origin{
		RootEnv: interp.Config, VarRedirectURI: interp.Config, VarPostLogoutRedirectURI: interp.Config,
		VarState: interp.Generated, VarNonce: interp.Generated, VarCodeVerifier: interp.Generated, VarCodeChallenge: interp.Generated,
		RootDiscovery: interp.Discovered,
		RootAuth:      interp.Request, RootLoginParam: interp.Param, VarDeviceCode: interp.Provider, VarAccessToken: interp.Provider, VarRefreshToken: interp.Provider, VarIDToken: interp.Provider,
	} {
		if e := scopeOf(root); e == nil || e.origin != origin {
			t.Errorf("%s: %+v, want origin %s", root, e, origin)
		}
	}
}

// TestBindings: each placeholder of a compiled template carries the
// table's answer: where its value comes from and how far it is trusted.
func TestBindings(t *testing.T) {
	t.Parallel()
	plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.test", "strategies": {"a": {
	  "idp": "https://${env.IDP_HOST}", "auth_uri": "${idp}/authorize?state=${state}&r=${redirect_uri}", "client_id": "c", "scope": "openid",
	  "steps": [
	    {"name": "token", "uri": "${idp}/token", "method": "POST", "form": {"code": "${auth.code}", "v": "${code_verifier}"}},
	    {"name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}"},
	    {"name": "refresh", "uri": "${idp}/token", "method": "POST", "form": {"t": "${refresh_token}"}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tpl := range plan.Strategy("a").Templates() {
		for _, b := range tpl.Bindings() {
			got = append(got, tpl.where()+" "+b.String()+"="+b.Origin.String())
		}
	}
	want := []string{
		"idp ${env.IDP_HOST}=config",
		"auth_uri ${idp}=config", "auth_uri ${state}=generated", "auth_uri ${redirect_uri}=config",
		`step "token" uri ${idp}=config`, `step "token" form.code ${auth.code}=request`, `step "token" form.v ${code_verifier}=generated`,
		`step "jwt" decode ${token.id_token}=identity provider`, `step "jwt" issuer ${idp}=config`,
		`step "refresh" uri ${idp}=config`, `step "refresh" form.t ${refresh_token}=identity provider`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bindings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sp := plan.Strategy("a")
	if sp.AuthURI().Phase() != PhaseAuthorize || sp.LoginSteps()[0].Form()[0].Value.Context() != interp.Form ||
		sp.LoginSteps()[1].Issuer().Phase() != PhaseFixed || sp.RefreshStep().URI().Phase() != PhaseRefresh {
		t.Error("templates do not know their phase and context")
	}
}

// TestTemplateRefusesUntrustedHead is the defence behind validation: a
// compiled template refuses, at run time, a value of the request or the
// IdP in a URI's scheme, host or path, whatever value the caller supplies.
func TestTemplateRefusesUntrustedHead(t *testing.T) {
	t.Parallel()
	for _, origin := range []interp.Origin{interp.Request, interp.Provider} {
		tpl := &Template{name: "uri", src: "${x}/users", ctx: interp.URI}
		tpl.t, _ = interp.Compile(tpl.src, interp.URI)
		tpl.refs = []Binding{{Ref: tpl.t.Refs()[0], Source: FromStep, Origin: origin}}
		_, err := tpl.Execute(func(Binding) (string, bool) { return "https://evil.test", true })
		if !errors.Is(err, interp.ErrUnsafeValue) {
			t.Errorf("%s value as a URI's host: err = %v, want ErrUnsafeValue", origin, err)
		}
	}
}

// TestVariableCycles: a cycle is reported once, as a cycle, on its first
// member; a variable reading a cycle is not a cycle itself.
func TestVariableCycles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ vars, want string }{
		{`"a": "${b}", "b": "${a}"`, `strategy "acme": a: variable cycle a → b → a`},
		{`"a": "x${a}"`, `strategy "acme": a: variable cycle a → a`},
		{`"a": "${b}", "b": "${c}", "c": "${b}"`, `strategy "acme": b: variable cycle b → c → b`},
		{`"client_id": "${scope}", "scope": "${tenant} openid", "tenant": "${client_id}"`, `strategy "acme": client_id: variable cycle client_id → scope → tenant → client_id`},
	} {
		t.Run(tt.vars, func(t *testing.T) {
			file := `{"base_uri": "https://app.test", "strategies": {"acme": {` + tt.vars + `, "label": "${a}${b}${c}${tenant}",
			  "auth_uri": "https://idp.test/authorize", "client_id": "c", "steps": [{"name": "jwt", "uri": "https://idp.test/me"}]}}}`
			file = strings.Replace(file, `"client_id": "c", "steps"`, `"steps"`, strings.Count(tt.vars, `"client_id"`))
			var cycles []string
			for _, p := range Check("f.json", []byte(file)) {
				if strings.Contains(p.Message, "cycle") {
					cycles = append(cycles, p.Error())
				}
				if strings.Contains(p.Message, "no value") {
					t.Errorf("misleading: %s", p.Error())
				}
			}
			if len(cycles) != 1 || !strings.HasPrefix(cycles[0], "f.json: "+tt.want) {
				t.Errorf("cycle problems %q, want one starting %q", cycles, tt.want)
			}
		})
	}
}

// TestCompileGoStrategies: strategies built in Go go through the checks of
// a file, get its defaults, and are copied.
func TestCompileGoStrategies(t *testing.T) {
	t.Parallel()
	ok := Strategy{Name: "acme", AuthURI: "https://idp.test/authorize", ClientID: "c", Scope: "openid",
		Steps: []Step{{Name: "jwt", Decode: "${auth.id_token}", Issuer: "https://idp.test"}}}
	plan, err := Compile("go", ok)
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategy("acme")
	if !sp.PKCE() || !sp.SendsNonce() || sp.LoginSteps()[0].InsecureSkipVerify() || sp.RedirectPath() != "/auth/acme/callback" {
		t.Errorf("zero values: pkce %v nonce %v skip-verify %v redirect %q", sp.PKCE(), sp.SendsNonce(), sp.LoginSteps()[0].InsecureSkipVerify(), sp.RedirectPath())
	}
	ok.Steps[0].Issuer = "https://changed.test"
	if got := sp.Definition().Steps[0].Issuer; got != "https://idp.test" {
		t.Errorf("changing the Go value changed the plan: %q", got)
	}
	bad := ok
	bad.Steps = []Step{{Name: "jwt", Decode: "${auth.id_token}"}, {Name: "refresh", URI: "https://idp.test/token", Method: "POST", Form: map[string]string{"c": "${auth.code}"}}}
	_, err = Compile("go", bad, ok)
	for _, want := range []string{
		`go: strategy "acme": step "jwt": issuer: missing`,
		`go: strategy "acme": step "refresh": form.c: ${auth.code} is not available here`,
		`go: strategy "acme": two strategies have this name`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile: %v\nwant %q", err, want)
		}
	}
	if _, err := Compile("go", Strategy{Name: "acme", AuthURI: "https://idp.test/a", ClientID: "c", InsecureNoPKCE: true,
		Steps: []Step{{Name: "jwt", Decode: "${auth.t}", InsecureSkipVerify: true}}}); err != nil {
		t.Errorf("the insecure switches are allowed (with warnings): %v", err)
	}
}

// TestPlanIsACopy: what a plan hands out cannot change it.
func TestPlanIsACopy(t *testing.T) {
	t.Parallel()
	plan, err := Parse("f.json", []byte(`{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "c", "claims": {"email": "mail"},
	  "steps": [{"name": "jwt", "uri": "https://idp.test/me", "config": {"headers": {"X": "1"}}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategy("a")
	sp.Definition().Claims["email"] = "other"
	plan.Lookup("a").Steps[0].URI = "https://evil.test"
	sp.LoginSteps()[0] = nil
	sp.Claims()[0].Path = "other"
	sp.LoginSteps()[0].Headers()[0].Name = "Y"
	if sp.Definition().Claims["email"] != "mail" || sp.Definition().Steps[0].URI != "https://idp.test/me" ||
		sp.LoginSteps()[0] == nil || sp.Claims()[0].Path != "mail" || sp.LoginSteps()[0].Headers()[0].Name != "X" {
		t.Error("a copy handed out changed the plan")
	}
}
