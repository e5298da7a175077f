package engine_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/authflow/authflow/engine"
)

// TestNewUnsetEnv: New fails when a template reads an unset ${env.NAME},
// naming the strategy, the field and the variable.
func TestNewUnsetEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string // in the message
	}{
		{"client secret", oidcFile(authPost), nil,
			[]string{`strategy "acme"`, "client_secret", "ACME_SECRET"}},
		{"custom variable", stratFile(`"tenant": "${env.ACME_TENANT}"`,
			postStep("token", "{{IDP}}/${tenant}/token", authPost, `"code": "${auth.code}"`), jwtStepJWKS),
			map[string]string{"ACME_SECRET": "s"},
			[]string{`strategy "acme"`, "tenant", "ACME_TENANT"}},
		{"step header", stratFile("", tokenStep(authPost), jwtStepJWKS,
			`{"name": "userinfo", "uri": "{{IDP}}/userinfo", "config": {"headers": {"X-Api-Key": "${env.ACME_API_KEY}"}}}`),
			map[string]string{"ACME_SECRET": "s"},
			[]string{`strategy "acme"`, `step "userinfo"`, "config.headers.X-Api-Key", "ACME_API_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := parseFile(t, "https://idp.test", tt.file)
			_, err := engine.New(set, engine.Options{LookupEnv: func(k string) (string, bool) {
				v, ok := tt.env[k]
				return v, ok
			}})
			if err == nil {
				t.Fatal("New succeeded with an unset environment variable")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not name %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "engine: ") {
				t.Errorf("message %q does not start with the package name", err)
			}
		})
	}
}

// TestNewEnvSnapshot: ${env.NAME} is read once, in New.
func TestNewEnvSnapshot(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	secret := testClientSecret
	s := p.strategy(t, oidcFile(authPost), func(o *engine.Options) {
		o.LookupEnv = func(k string) (string, bool) { return secret, k == "ACME_SECRET" }
	})
	secret = "changed-after-New"
	l, cb := p.begin(t, s)
	if _, err := s.Exchange(t.Context(), l, cb); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if form, _ := p.lastTokenRequest(); form.Get("client_secret") != testClientSecret {
		t.Errorf("client_secret sent = %q, want the value read at New", form.Get("client_secret"))
	}
}

// fileWithoutBase is a strategy file that sets no base_uri anywhere.
const fileWithoutBase = `{"strategies": {"acme": {
	"auth_uri": "https://idp.test/authorize?client_id=${client_id}",
	"client_id": "acme-client",
	"steps": [{"name": "jwt", "uri": "https://idp.test/me"}]}}}`

// TestNewBaseURI: base_uri comes from the strategy, else the file, else
// Options.BaseURI; without any, New fails naming base_uri.
func TestNewBaseURI(t *testing.T) {
	t.Parallel()
	t.Run("missing everywhere", func(t *testing.T) {
		_, err := engine.New(parseFile(t, "", fileWithoutBase), engine.Options{})
		if err == nil || !strings.Contains(err.Error(), "base_uri") || !strings.Contains(err.Error(), `strategy "acme"`) {
			t.Fatalf("New = %v, want an error naming base_uri and the strategy", err)
		}
	})
	t.Run("from Options", func(t *testing.T) {
		e := newEngine(t, parseFile(t, "", fileWithoutBase), engine.Options{BaseURI: "https://opts.test/"})
		if got := e.Strategy("acme").RedirectURI(); got != "https://opts.test/auth/acme/callback" {
			t.Errorf("RedirectURI() = %q", got)
		}
	})
	t.Run("strategy over file over Options", func(t *testing.T) {
		file := `{"base_uri": "https://file.test", "strategies": {
			"a": {"auth_uri": "https://idp.test/authorize", "client_id": "x", "base_uri": "https://strategy.test", "redirect_path": "/cb",
			      "steps": [{"name": "jwt", "uri": "https://idp.test/me"}]},
			"b": {"auth_uri": "https://idp.test/authorize", "client_id": "x",
			      "steps": [{"name": "jwt", "uri": "https://idp.test/me"}]}}}`
		e := newEngine(t, parseFile(t, "", file), engine.Options{BaseURI: "https://opts.test"})
		if got := e.Strategy("a").RedirectURI(); got != "https://strategy.test/cb" {
			t.Errorf("a: RedirectURI() = %q", got)
		}
		if got := e.Strategy("b").RedirectURI(); got != "https://file.test/auth/b/callback" {
			t.Errorf("b: RedirectURI() = %q", got)
		}
	})
}

// TestEngineStrategies checks the accessors: file order, lookup, and each
// strategy's defaults.
func TestEngineStrategies(t *testing.T) {
	t.Parallel()
	file := `{"base_uri": "https://app.test", "jwt_key": "profile", "strategies": {
		"zeta": {"auth_uri": "https://idp.test/authorize", "client_id": "z", "label": "Zeta SSO",
		         "steps": [{"name": "profile", "uri": "https://idp.test/me"}]},
		"alpha": {"auth_uri": "https://idp.test/authorize", "client_id": "a", "jwt_key": "user",
		          "steps": [{"name": "jwt", "uri": "https://idp.test/me"},
		                    {"name": "refresh", "uri": "https://idp.test/token", "method": "POST", "form": {"refresh_token": "${refresh_token}"}}]}}}`
	set := parseFile(t, "", file)
	e := newEngine(t, set, engine.Options{})
	var names []string
	for _, s := range e.Strategies() {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != "zeta,alpha" {
		t.Errorf("Strategies() = %v, want file order zeta, alpha", names)
	}
	if e.Strategy("nope") != nil {
		t.Error(`Strategy("nope") != nil`)
	}
	z, a := e.Strategy("zeta"), e.Strategy("alpha")
	if z.Label() != "Zeta SSO" || a.Label() != "alpha" {
		t.Errorf("labels %q, %q; want \"Zeta SSO\" and the name", z.Label(), a.Label())
	}
	if z.JWTKey() != "profile" || a.JWTKey() != "user" {
		t.Errorf("jwt keys %q, %q; want profile (the file's), user", z.JWTKey(), a.JWTKey())
	}
	if z.CanRefresh() || !a.CanRefresh() {
		t.Errorf("CanRefresh: zeta %v, alpha %v; want false, true", z.CanRefresh(), a.CanRefresh())
	}
	if !reflect.DeepEqual(z.Definition(), set.Lookup("zeta")) {
		t.Error("Definition() is not the loaded strategy")
	}
	// The definition is a copy: changing it changes nothing that runs.
	z.Definition().Label = "changed"
	if z.Label() != "Zeta SSO" || z.Definition().Label != "Zeta SSO" {
		t.Errorf("changing a Definition() changed the strategy: label %q", z.Label())
	}
}

// TestNewURIFromEnv: a URI the environment completes is checked when the
// engine binds it (the compile, without the environment, leaves it open):
// it must be an absolute http(s) URL.
func TestNewURIFromEnv(t *testing.T) {
	t.Parallel()
	file := `{"base_uri": "https://app.test", "strategies": {"acme": {
	  "idp": "${env.IDP}", "auth_uri": "${idp}/authorize", "client_id": "c",
	  "steps": [{"name": "jwt", "uri": "${env.IDP}/me"}]}}}`
	set := parseFile(t, "", file)
	for _, tt := range []struct{ idp, want string }{
		{"https://idp.test", ""},
		{"idp.test", `strategy "acme": auth_uri: with its variables set: must be an absolute http(s) URL`},
		{"https://", `strategy "acme": auth_uri: with its variables set: must be an absolute http(s) URL`},
	} {
		e, err := engine.New(set, engine.Options{LookupEnv: func(string) (string, bool) { return tt.idp, true }})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("IDP=%q: New: %v", tt.idp, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("IDP=%q: New = %v, want an error containing %q", tt.idp, err, tt.want)
		case tt.want != "" && strings.Contains(err.Error(), tt.idp+"/"):
			t.Errorf("IDP=%q: the message quotes the environment's value: %v", tt.idp, err)
		}
		if e != nil {
			e.Close()
		}
	}
}
