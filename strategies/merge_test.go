package strategies

import (
	"strings"
	"testing"
)

// testCatalogue is a small built-in catalogue, independent of mock_strategies.json.
const testCatalogue = `{"strategies": {
  "idp": {
    "label": "IdP", "client_id": "", "client_secret": "", "tenant": "",
    "auth_uri": "https://${tenant}.idp.test/authorize?client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
    "scope": "openid email",
    "steps": [
      {"name": "token", "uri": "https://${tenant}.idp.test/token", "method": "POST",
       "form": {"code": "${auth.code}", "client_id": "${client_id}", "client_secret": "${client_secret}"}},
      {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://${tenant}.idp.test", "algorithms": ["RS256"]},
      {"name": "refresh", "uri": "https://${tenant}.idp.test/token", "method": "POST", "form": {"refresh_token": "${refresh_token}"}},
      {"name": "revoke", "uri": "https://${tenant}.idp.test/revoke", "method": "POST", "form": {"token": "${access_token}"}}
    ]
  }
}}`

func parseWithTestCatalogue(t *testing.T, file string) (*Plan, Problems) {
	t.Helper()
	top, err := parseTree([]byte(testCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	list := top.get("strategies")
	cat := map[string]*node{}
	for i, k := range list.keys {
		cat[k] = list.vals[i]
	}
	return compileFile("test.json", []byte(file), cat)
}

func stepNames(st *Strategy) string {
	var n []string
	for _, s := range st.Steps {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func TestMerge(t *testing.T) {
	t.Parallel()
	const base = `"client_id": "cid", "client_secret": "${env.S}", "tenant": "acme"`
	tests := []struct {
		name  string
		user  string // the strategy body
		check func(t *testing.T, st *Strategy)
	}{
		{"keys given replace, keys omitted stay", `{` + base + `, "scope": "openid profile"}`, func(t *testing.T, st *Strategy) {
			if st.Scope != "openid profile" || st.Label != "IdP" || st.Custom["tenant"] != "acme" || !st.Builtin {
				t.Errorf("scope %q label %q tenant %q builtin %v", st.Scope, st.Label, st.Custom["tenant"], st.Builtin)
			}
			if stepNames(st) != "token,jwt,refresh,revoke" {
				t.Errorf("steps %s", stepNames(st))
			}
		}},
		{"a step merges field by field", `{` + base + `, "steps": [{"name": "jwt", "algorithms": ["ES256"]}]}`, func(t *testing.T, st *Strategy) {
			j := st.Step("jwt")
			if j.Decode != "${token.id_token}" || j.Issuer != "https://${tenant}.idp.test" || strings.Join(j.Algorithms, ",") != "ES256" {
				t.Errorf("jwt step %+v", j)
			}
			if stepNames(st) != "token,jwt,refresh,revoke" {
				t.Errorf("steps %s", stepNames(st))
			}
		}},
		{"a field replaces whole (form)", `{` + base + `, "steps": [{"name": "token", "form": {"code": "${auth.code}"}, "config": {"auth": {"username": "${client_id}", "password": "${client_secret}"}}}]}`, func(t *testing.T, st *Strategy) {
			tok := st.Step("token")
			if len(tok.Form) != 1 || tok.Auth == nil || tok.URI != "https://${tenant}.idp.test/token" {
				t.Errorf("token step %+v", tok)
			}
		}},
		{"new step after the one before it", `{` + base + `, "steps": [{"name": "jwt"}, {"name": "userinfo", "uri": "https://${tenant}.idp.test/userinfo", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]}`, func(t *testing.T, st *Strategy) {
			if stepNames(st) != "token,jwt,userinfo,refresh,revoke" {
				t.Errorf("steps %s", stepNames(st))
			}
		}},
		{"new step alone goes before refresh", `{` + base + `, "steps": [{"name": "userinfo", "uri": "https://${tenant}.idp.test/userinfo"}]}`, func(t *testing.T, st *Strategy) {
			if stepNames(st) != "token,jwt,userinfo,refresh,revoke" {
				t.Errorf("steps %s", stepNames(st))
			}
		}},
		{"file base_uri and jwt_key apply", `{` + base + `}`, func(t *testing.T, st *Strategy) {
			if st.BaseURI != "https://app.test" || st.RedirectPath != "/auth/idp/callback" || st.JWTKey != "person" {
				t.Errorf("base %q path %q jwt_key %q", st.BaseURI, st.RedirectPath, st.JWTKey)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, ps := parseWithTestCatalogue(t, `{"base_uri": "https://app.test", "jwt_key": "person", "strategies": {"idp": `+tt.user+`}}`)
			if ps.HasErrors() {
				t.Fatalf("problems:\n%v", ps)
			}
			tt.check(t, set.Strategies()[0].Definition())
		})
	}
}

func TestRequiredValues(t *testing.T) {
	t.Parallel()
	// Omitting the catalogue's empty values is one error per value, naming
	// it and where it is used.
	_, ps := parseWithTestCatalogue(t, `{"base_uri": "https://app.test", "strategies": {"idp": {"client_id": "cid"}}}`)
	got := ps.Error()
	for _, want := range []string{
		`strategy "idp": tenant: missing: set "tenant" in the strategy; it is used by auth_uri and `,
		`strategy "idp": client_secret: missing: set "client_secret" in the strategy; it is used by step "token" form.client_secret`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "tenant: missing"); n != 1 {
		t.Errorf("tenant reported %d times, want once:\n%s", n, got)
	}
}

func TestReservedName(t *testing.T) {
	t.Parallel()
	_, err := Parse("f.json", []byte(`{"strategies": {"jwt": {"auth_uri": "https://x.test/a", "client_id": "c"}}}`))
	if err == nil || !strings.Contains(err.Error(), `f.json: strategy "jwt": the name "jwt" is reserved`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, want string }{
		{"{\n  \"strategies\": {\n    \"a\": {,}\n  }\n}", "f.json: line 3, column 11: "},
		{"{\"strategies\": {}", "f.json: line 1, column 18: "},
		{"", "f.json: line 1, column 1: "},
	}
	for _, tt := range tests {
		_, err := Parse("f.json", []byte(tt.file))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want prefix %q", tt.file, err, tt.want)
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	_, err := Parse("f.json", []byte(`{"strategies": {"a": {"client_id": "x", "client_id": "y"}}}`))
	if err == nil || !strings.Contains(err.Error(), `strategy "a": key "client_id" appears twice`) {
		t.Fatalf("err = %v", err)
	}
}
