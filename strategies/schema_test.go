package strategies

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/authflow/authflow"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The tests here keep schema.json (for editors) and the loader (the
// authority) in agreement:
//
//   - the schema compiles as a draft 2020-12 schema;
//   - every file the loader accepts validates against the schema: the
//     testdata files, each built-in provider as a user configures it, and each
//     built-in definition copied into a strategy of one's own;
//   - the lists the schema repeats (keys, step fields, algorithms, reserved
//     names, built-in providers and what each needs) match the loader's;
//   - a table of snippets records both verdicts. Structural mistakes fail
//     both. What the schema cannot express (placeholders, step order, values
//     that depend on other strategies' or steps' keys) is loader-only: the
//     table asserts the schema accepts those, which documents the boundary.
//     A few things the loader lets pass but the schema refuses are listed as
//     schema-only.

const schemaURL = "https://raw.githubusercontent.com/authflow/authflow/main/strategies/schema.json"

// compileSchema compiles Schema, or the subschema at fragment ("" for the
// whole), without network access: the schema is registered under its $id.
func compileSchema(t *testing.T, fragment string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaURL + fragment)
	if err != nil {
		t.Fatalf("compile schema.json%s: %v", fragment, err)
	}
	return sch
}

// schemaCheck validates data against sch; nil means valid.
func schemaCheck(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("instance is not JSON: %v\n%s", err, data)
	}
	return sch.Validate(inst)
}

// schemaDoc is Schema as plain JSON values, to read its lists.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// at walks a decoded JSON value along object keys.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("schema: %s is not an object", strings.Join(keys[:i], "."))
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("schema: no %s", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func objectKeys(t *testing.T, v any) []string {
	t.Helper()
	return sortedKeys(v.(map[string]any))
}

func stringList(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func TestSchemaCompiles(t *testing.T) {
	t.Parallel()
	compileSchema(t, "")
	if got := at(t, schemaDoc(t), "$schema"); got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema is %v, want draft 2020-12", got)
	}
	if got := at(t, schemaDoc(t), "$id"); got != schemaURL {
		t.Errorf("$id is %v, want %s (the URL docs/strategies.md gives)", got, schemaURL)
	}
}

// TestSchemaAcceptsTestdata: each testdata file gets the same verdict from
// the loader and the schema. The files the loader refuses are refused by the
// schema too, because each has structural mistakes besides its placeholder
// ones:
//
//   - broken.json: a strategy named "jwt", an unknown step field ("forms"),
//     algorithms HS256 and none, a verified decode step without issuer, a GET
//     step with a form;
//   - builtins_unset.json: built-ins without client_id, realm_uri or tenant
//     ("tennant" is a custom variable to both).
func TestSchemaAcceptsTestdata(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t, "")
	refused := map[string]bool{"broken.json": true, "builtins_unset.json": true}
	files, _ := filepath.Glob("../testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata files")
	}
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			loaderOK := !Check(base, data).HasErrors()
			serr := schemaCheck(t, sch, data)
			switch {
			case loaderOK && serr != nil:
				t.Errorf("the loader accepts %s but the schema refuses it:\n%v", base, serr)
			case !loaderOK && !refused[base]:
				t.Errorf("the loader refuses %s: add it to the refused list above, saying whether the schema refuses it too", base)
			case !loaderOK && serr == nil:
				t.Errorf("the schema accepts %s, which the loader refuses", base)
			}
		})
	}
}

// fillRequired returns a plausible value for a variable a built-in leaves
// to the user (as TestCatalogueValidates does).
func fillRequired(k string) string {
	switch k {
	case "client_secret":
		return "${env.SECRET}"
	case "okta_uri", "realm_uri", "casdoor_uri", "authelia_uri", "authentik_uri", "gitea_uri",
		"kanidm_uri", "logto_uri", "zitadel_uri":
		return "https://idp.example.com/" + k
	case "domain":
		return "idp.example.com"
	}
	return "value-" + k
}

// TestSchemaAcceptsBuiltins: every built-in validates against the schema the
// way a user writes it (name and the values it needs), and its full
// definition, copied under a name of one's own, validates as a complete
// strategy (the stricter rules for strategies that are not built in). The
// loader accepts both. mock_strategies.json itself is not a valid strategy
// file: it leaves client_id and the provider's variables empty.
func TestSchemaAcceptsBuiltins(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t, "")
	var cat struct {
		Strategies map[string]map[string]any `json:"strategies"`
	}
	if err := json.Unmarshal(authflow.Catalogue(), &cat); err != nil {
		t.Fatal(err)
	}
	for _, b := range Catalogue() {
		t.Run(b.Name, func(t *testing.T) {
			user := map[string]any{}
			copied := cat.Strategies[b.Name]
			for _, k := range b.Required() {
				user[k] = fillRequired(k)
				copied[k] = fillRequired(k)
			}
			for name, def := range map[string]map[string]any{b.Name: user, "my-" + b.Name: copied} {
				data, err := json.Marshal(map[string]any{"base_uri": "https://app.example.com", "strategies": map[string]any{name: def}})
				if err != nil {
					t.Fatal(err)
				}
				if ps := Check("builtin.json", data); ps.HasErrors() {
					t.Errorf("%s: the loader refuses it:\n%v", name, ps)
				}
				if err := schemaCheck(t, sch, data); err != nil {
					t.Errorf("%s: the schema refuses it:\n%v\n%s", name, err, data)
				}
			}
		})
	}
}

// TestSchemaListsMatchLoader checks the lists schema.json repeats from the
// loader's code.
func TestSchemaListsMatchLoader(t *testing.T) {
	t.Parallel()
	doc := schemaDoc(t)
	defs := at(t, doc, "$defs")

	if got := objectKeys(t, at(t, doc, "properties")); !sameSet(got, sortedKeys(topLevelKeys)) {
		t.Errorf("top-level keys: schema %v, loader %v", got, sortedKeys(topLevelKeys))
	}
	if got := at(t, doc, "properties", "strategies", "propertyNames", "pattern"); got != strategyName.String() {
		t.Errorf("strategy name pattern: schema %v, loader %s", got, strategyName)
	}
	if got := at(t, doc, "properties", "strategies", "propertyNames", "not", "const"); got != ReservedName {
		t.Errorf("reserved strategy name: schema %v, loader %s", got, ReservedName)
	}

	// Strategy keys: the known keys, and the reserved names no custom
	// variable may take ("nonce" is both).
	var reservedVars []string
	for _, k := range reservedRoots() {
		if !slices.Contains(knownKeys, k) {
			reservedVars = append(reservedVars, k)
		}
	}
	strategyProps := at(t, defs, "strategy", "properties").(map[string]any)
	if got := sortedKeys(strategyProps); !sameSet(got, append(slices.Clone(knownKeys), reservedVars...)) {
		t.Errorf("strategy keys: schema %v, loader %v + reserved %v", got, knownKeys, reservedVars)
	}
	for _, k := range reservedVars {
		if ref := at(t, strategyProps, k, "$ref"); ref != "#/$defs/reservedVariable" {
			t.Errorf("strategy key %q: schema %v, want the reservedVariable", k, ref)
		}
	}

	// Step fields: each one the schema lists is one the loader knows.
	stepProps := at(t, defs, "stepFields", "properties")
	for _, f := range append(objectKeys(t, stepProps), "bogus") {
		file := `{"strategies": {"a": {"steps": [{"name": "x", "` + f + `": "v"}]}}}`
		unknown := false
		for _, p := range Check("f.json", []byte(file)) {
			if p.Field == f && strings.HasPrefix(p.Message, "unknown step field") {
				unknown = true
			}
		}
		if unknown != (f == "bogus") {
			t.Errorf("step field %q: the loader calls it unknown: %v", f, unknown)
		}
	}
	if got := stringList(t, at(t, stepProps, "algorithms", "items", "enum")); !slices.Equal(got, AllowedAlgorithms()) {
		t.Errorf("algorithms: schema %v, loader %v", got, AllowedAlgorithms())
	}
	if got := stringList(t, at(t, stepProps, "algorithms", "default")); !slices.Equal(got, DefaultAlgorithms()) {
		t.Errorf("default algorithms: schema %v, loader %v", got, DefaultAlgorithms())
	}
	// A step may not take the name of a variable every strategy has, nor of
	// a value the engine provides.
	wantNames := append(sortedKeys((&Strategy{}).Variables()), reservedRoots()...)
	if got := stringList(t, at(t, stepProps, "name", "not", "enum")); !sameSet(got, wantNames) {
		t.Errorf("names a step may not take: schema %v, loader %v", got, wantNames)
	}
	method := regexp.MustCompile(at(t, stepProps, "method", "pattern").(string))
	for _, m := range httpMethods {
		if !method.MatchString(m) || !method.MatchString(strings.ToLower(m)) {
			t.Errorf("method pattern refuses %s", m)
		}
	}
	if got := stringList(t, at(t, stepProps, "method", "examples")); !slices.Equal(got, httpMethods) {
		t.Errorf("methods: schema %v, loader %v", got, httpMethods)
	}

	// Built-in providers: the same names, and each requires what the
	// catalogue leaves empty (Required), except client_secret, which a
	// public client may do without once it overrides the steps that send it.
	builtinProps := at(t, doc, "properties", "strategies", "properties").(map[string]any)
	var names []string
	for _, b := range Catalogue() {
		names = append(names, b.Name)
		if _, ok := builtinProps[b.Name]; !ok {
			continue
		}
		req := stringList(t, at(t, defs, "builtinStrategy", "required"))
		if r, ok := builtinProps[b.Name].(map[string]any)["required"]; ok {
			req = append(req, stringList(t, r)...)
		}
		want := slices.DeleteFunc(b.Required(), func(k string) bool { return k == "client_secret" })
		if !sameSet(req, want) {
			t.Errorf("%s requires: schema %v, catalogue %v", b.Name, req, want)
		}
		// Each of them, left out, is an error to the loader too.
		for _, omit := range req {
			fields := map[string]string{}
			for _, k := range b.Required() {
				if k != omit {
					fields[k] = fillRequired(k)
				}
			}
			data, _ := json.Marshal(map[string]any{"base_uri": "https://app.example.com", "strategies": map[string]any{b.Name: fields}})
			if !Check("f.json", data).HasErrors() {
				t.Errorf("%s without %s: the loader accepts it, the schema requires it", b.Name, omit)
			}
		}
	}
	if got := sortedKeys(builtinProps); !sameSet(got, names) {
		t.Errorf("built-in providers: schema %v, catalogue %v", got, names)
	}
}

// TestDollarSchemaKeyIgnored: the loader accepts a top-level "$schema" key
// (for editors) and ignores it: no problem, and the same strategies as
// without it.
func TestDollarSchemaKeyIgnored(t *testing.T) {
	t.Parallel()
	body := `"base_uri": "https://app.example.com", "strategies": {"google": {"client_id": "cid", "client_secret": "${env.S}"}}}`
	with := []byte(`{"$schema": "` + schemaURL + `", ` + body)
	without := []byte(`{` + body)
	if ps := Check("with.json", with); len(ps) != 0 {
		t.Fatalf("problems with $schema:\n%v", ps)
	}
	a, err := Parse("f.json", with)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("f.json", without)
	if err != nil {
		t.Fatal(err)
	}
	var ea, eb bytes.Buffer
	if err := Explain(&ea, a.Strategies()[0]); err != nil {
		t.Fatal(err)
	}
	if err := Explain(&eb, b.Strategies()[0]); err != nil {
		t.Fatal(err)
	}
	if ea.String() != eb.String() {
		t.Errorf("$schema changed the result:\n%s\n---\n%s", ea.String(), eb.String())
	}
	if err := schemaCheck(t, compileSchema(t, ""), with); err != nil {
		t.Errorf("the schema refuses its own $schema line: %v", err)
	}
}

// Snippets for the agreement table.
const (
	acmeKeys  = `"auth_uri": "https://sso.acme.test/authorize", "client_id": "acme-web", "client_secret": "${env.ACME_SECRET}", "scope": "openid email"`
	tokenStep = `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}}`
	jwtStep   = `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://sso.acme.test"}`
)

// acme returns a file with one strategy "acme": its keys are acmeKeys plus
// extra (which may repeat none of them), its steps the ones given, or token
// and jwt when none are.
func acme(extra string, steps ...string) string {
	if len(steps) == 0 {
		steps = []string{tokenStep, jwtStep}
	}
	keys := acmeKeys
	if extra != "" {
		keys += ", " + extra
	}
	return `{"base_uri": "https://app.example.com", "strategies": {"acme": {` + keys + `, "steps": [` + strings.Join(steps, ", ") + `]}}}`
}

// strats returns a file with the strategies given.
func strats(s string) string {
	return `{"base_uri": "https://app.example.com", "strategies": {` + s + `}}`
}

// verdict is what the loader and the schema say of a snippet.
type verdict int

const (
	bothAccept verdict = iota
	bothRefuse
	loaderOnly // the loader refuses; the schema cannot express why and accepts
	schemaOnly // the schema refuses; the loader lets it pass
)

func (v verdict) String() string {
	return [...]string{"both accept", "both refuse", "loader-only refusal", "schema-only refusal"}[v]
}

var agreementCases = []struct {
	name string
	file string
	want verdict
}{
	// Valid: both accept.
	{"custom strategy with token and jwt steps", acme(""), bothAccept},
	{"client_credentials without auth_uri", strats(`"svc": {"grant_type": "client_credentials", "client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "client_auth": "client_secret_basic", "form": {"grant_type": "${grant_type}"}}]}`), bothAccept},
	{"oidc client_credentials", strats(`"svc": {"extends": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "${env.S}", "grant_type": "client_credentials"}`), bothAccept},
	{"device login only", strats(`"tv": {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_uri": "https://idp.test/device", "client_id": "c", "scope": "openid", "steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}", "device_code": "${device_code}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]}`), bothAccept},
	{"device grant without device_uri", strats(`"tv": {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "c", "scope": "openid", "steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}"}}, {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]}`), bothRefuse},
	{"client_credentials with auth_uri", strats(`"svc": {"grant_type": "client_credentials", "auth_uri": "https://idp.test/a", "client_id": "c", "steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "${grant_type}"}}]}`), bothRefuse},
	{"$schema line", `{"$schema": "` + schemaURL + `", "strategies": {"google": {"client_id": "c", "client_secret": "${env.S}"}}}`, bothAccept},
	{"$schema as a local path", `{"$schema": "./strategies.schema.json", "strategies": {"github": {"client_id": "c", "client_secret": "${env.S}"}}}`, bothAccept},
	{"top-level jwt_key", `{"jwt_key": "account", "base_uri": "https://app.example.com", "strategies": {"github": {"client_id": "c", "client_secret": "${env.S}"}}}`, bothAccept},
	{"built-in with its variables", strats(`"okta": {"okta_uri": "https://dev-1.okta.com/oauth2/default", "client_id": "c", "client_secret": "${env.S}"}`), bothAccept},
	{"built-in step override: only some fields", strats(`"okta": {"okta_uri": "https://dev-1.okta.com/oauth2", "client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "jwt", "issuer": "https://dev-1.okta.com"}]}`), bothAccept},
	{"built-in new step after jwt", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "jwt"}, {"name": "people", "uri": "https://people.googleapis.com/v1/people/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]}`), bothAccept},
	{"custom variable", acme(`"idp": "https://sso.acme.test", "label": "Acme"`, tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}"}`), bothAccept},
	{"all known keys", acme(`"label": "Acme", "base_uri": "https://app.acme.test", "redirect_path": "/cb", "grant_type": "authorization_code", "jwt_key": "user", "pkce": true, "nonce": true, "claims": {"groups": "roles"}, "logout_uri": "https://sso.acme.test/logout?id_token_hint=${id_token}", "backchannel_logout": true`), bothAccept},
	{"method in lower case", acme("", strings.Replace(tokenStep, `"POST"`, `"post"`, 1), jwtStep), bothAccept},
	{"GET step without body", acme("", tokenStep, `{"name": "jwt", "uri": "https://sso.acme.test/me", "method": "GET", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`), bothAccept},
	{"json body", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "json": {"code": "${auth.code}", "n": [1, true, null]}}`, jwtStep), bothAccept},
	{"config.auth basic", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "config": {"auth": {"username": "${client_id}", "password": "${client_secret}"}}, "form": {"code": "${auth.code}"}}`, jwtStep), bothAccept},
	{"decode step with every field", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://sso.acme.test", "jwks_uri": "https://sso.acme.test/jwks", "audience": "api", "algorithms": ["PS256", "EdDSA"], "verify": true}`), bothAccept},
	{"verify false without issuer (a warning)", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "verify": false}`), bothAccept},
	{"decode step with an empty config", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "config": {}}`), bothAccept},
	{"empty redirect_path means the default", acme(`"redirect_path": ""`), bothAccept},
	{"base_uri as a template", acme(`"base_uri": "${env.BASE_URI}"`), bothAccept},
	{"error_path on an HTTP step", acme("", tokenStep, `{"name": "jwt", "uri": "https://sso.acme.test/me", "error_path": "errcode"}`), bothAccept},
	{"error_path with a gjson query", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "error_path": "errors.#(fatal==true).code", "form": {"code": "${auth.code}"}}`, jwtStep), bothAccept},

	{"extends a built-in under another name", strats(`"work": {"extends": "google", "client_id": "c", "client_secret": "${env.S}"}`), bothAccept},
	{"omit an inherited step", strats(`"work": {"extends": "google", "client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "refresh", "omit": true}]}`), bothAccept},

	{"bearer true", acme(`"bearer": true, "required_scopes": ["orders:read"], "upstream_claims": {"plan": "subscription.plan"}`), bothAccept},
	{"bearer with an audience", acme(`"bearer": {"audience": "${env.API_AUD}"}`), bothAccept},
	{"bearer introspecting", acme(`"bearer": {"introspect": true}`, tokenStep, jwtStep, `{"name": "introspect", "uri": "https://sso.acme.test/introspect", "method": "POST", "form": {"token": "${bearer_token}"}}`), bothAccept},
	{"bearer a string", acme(`"bearer": "yes"`), bothRefuse},
	{"notes", acme(`"docs": "https://sso.acme.test/docs", "notes": ["Turn on the groups mapper."]`), bothAccept},
	{"notes a string", acme(`"notes": "Turn on the groups mapper."`), bothRefuse},
	{"an empty note", acme(`"notes": [""]`), bothRefuse},
	{"bearer with an unknown field", acme(`"bearer": {"aud": "x"}`), bothRefuse},
	{"required_scopes a string", acme(`"bearer": true, "required_scopes": "a b"`), bothRefuse},
	{"required scope with a space", acme(`"bearer": true, "required_scopes": ["a b"]`), bothRefuse},
	{"upstream_claims an array", acme(`"upstream_claims": ["plan"]`), bothRefuse},

	// Structural mistakes: both refuse.
	{"extends a number", strats(`"work": {"extends": 1, "client_id": "c"}`), bothRefuse},
	{"extends without client_id", strats(`"work": {"extends": "google", "client_secret": "${env.S}"}`), bothRefuse},
	{"omit with another field", strats(`"work": {"extends": "google", "client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "refresh", "omit": true, "uri": "https://x.test/t"}]}`), bothRefuse},
	{"omit false", strats(`"work": {"extends": "google", "client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "refresh", "omit": false}]}`), bothRefuse},
	{"omit in a strategy that extends nothing", acme("", tokenStep, jwtStep, `{"name": "revoke", "omit": true}`), bothRefuse},
	{"strategy named jwt", strats(`"jwt": {"auth_uri": "https://x.test/a", "client_id": "c"}`), bothRefuse},
	{"strategy name in upper case", strats(`"Acme": {"auth_uri": "https://x.test/a", "client_id": "c"}`), bothRefuse},
	{"unknown top-level key", `{"strategy": {}, "strategies": {"github": {"client_id": "c", "client_secret": "${env.S}"}}}`, bothRefuse},
	{"no strategies key", `{"base_uri": "https://app.example.com"}`, bothRefuse},
	{"no strategies", `{"strategies": {}}`, bothRefuse},
	{"strategies is an array", `{"strategies": []}`, bothRefuse},
	{"file is an array", `[]`, bothRefuse},
	{"top-level jwt_key a number", `{"jwt_key": 1, "strategies": {"github": {"client_id": "c", "client_secret": "${env.S}"}}}`, bothRefuse},
	{"top-level base_uri not a URL", `{"base_uri": "app.example.com", "strategies": {"github": {"client_id": "c", "client_secret": "${env.S}"}}}`, bothRefuse},
	{"strategy is a string", strats(`"acme": "https://sso.acme.test"`), bothRefuse},
	{"pkce as a string", acme(`"pkce": "false"`), bothRefuse},
	{"backchannel_logout as a number", acme(`"backchannel_logout": 1`), bothRefuse},
	{"label a number", acme(`"label": 7`), bothRefuse},
	{"custom variable a number", acme(`"port": 8443`), bothRefuse},
	{"custom variable an object", acme(`"idp": {"uri": "https://x.test"}`), bothRefuse},
	{"custom variable named state", acme(`"state": "x"`), bothRefuse},
	{"custom variable named env", acme(`"env": "prod"`), bothRefuse},
	{"claims an array", acme(`"claims": ["email"]`), bothRefuse},
	{"claim path a number", acme(`"claims": {"email": 1}`), bothRefuse},
	{"claim path empty", acme(`"claims": {"email": ""}`), bothRefuse},
	{"custom strategy without auth_uri", strats(`"acme": {"client_id": "c"}`), bothRefuse},
	{"custom strategy without client_id", strats(`"acme": {"auth_uri": "https://x.test/a"}`), bothRefuse},
	{"custom strategy with an empty client_id", strats(`"acme": {"auth_uri": "https://x.test/a", "client_id": ""}`), bothRefuse},
	{"built-in without client_id", strats(`"github": {"client_secret": "${env.S}"}`), bothRefuse},
	{"okta without okta_uri", strats(`"okta": {"client_id": "c", "client_secret": "${env.S}"}`), bothRefuse},
	{"cognito with an empty region", strats(`"cognito": {"domain": "d.test", "region": "", "user_pool_id": "p", "client_id": "c", "client_secret": "${env.S}"}`), bothRefuse},
	{"redirect_path without slash", acme(`"redirect_path": "auth/acme/callback"`), bothRefuse},
	{"base_uri without scheme", acme(`"base_uri": "app.example.com"`), bothRefuse},
	{"base_uri ftp", acme(`"base_uri": "ftp://app.example.com"`), bothRefuse},
	{"steps an object", strats(`"acme": {` + acmeKeys + `, "steps": {"token": {}}}`), bothRefuse},
	{"step a string", acme("", `"token"`), bothRefuse},
	{"step without name", acme("", tokenStep, `{"decode": "${token.id_token}", "issuer": "https://i.test"}`), bothRefuse},
	{"step with empty name", acme("", tokenStep, `{"name": "", "decode": "${token.id_token}", "issuer": "https://i.test"}`), bothRefuse},
	{"step name a number", acme("", tokenStep, `{"name": 1, "decode": "${token.id_token}", "issuer": "https://i.test"}`), bothRefuse},
	{"step named state", acme("", tokenStep, jwtStep, `{"name": "state", "uri": "https://x.test/s"}`), bothRefuse},
	{"step named client_id", acme("", tokenStep, jwtStep, `{"name": "client_id", "uri": "https://x.test/s"}`), bothRefuse},
	{"unknown step field", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "forms": {}}`), bothRefuse},
	{"unknown step field in a built-in override", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "token", "header": {}}]}`), bothRefuse},
	{"step with uri and decode", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "decode": "${token.id_token}", "issuer": "https://i.test"}`), bothRefuse},
	{"step with neither uri nor decode", acme("", tokenStep, `{"name": "jwt", "method": "GET"}`), bothRefuse},
	{"step with empty uri", acme("", tokenStep, `{"name": "jwt", "uri": ""}`), bothRefuse},
	{"uri a number", acme("", tokenStep, `{"name": "jwt", "uri": 80}`), bothRefuse},
	{"unknown method", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "method": "FETCH"}`), bothRefuse},
	{"GET with a form", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "form": {"a": "b"}}`), bothRefuse},
	{"GET with json", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "method": "get", "json": {"a": "b"}}`), bothRefuse},
	{"form and json", acme("", `{"name": "token", "uri": "https://x.test/t", "method": "POST", "form": {"a": "b"}, "json": {"a": "b"}}`, jwtStep), bothRefuse},
	{"form value a number", acme("", `{"name": "token", "uri": "https://x.test/t", "method": "POST", "form": {"n": 1}}`, jwtStep), bothRefuse},
	{"config unknown field", acme("", `{"name": "token", "uri": "https://x.test/t", "method": "POST", "config": {"timeout": "5s"}}`, jwtStep), bothRefuse},
	{"config.auth unknown field", acme("", `{"name": "token", "uri": "https://x.test/t", "method": "POST", "config": {"auth": {"user": "u"}}}`, jwtStep), bothRefuse},
	{"header value a number", acme("", `{"name": "token", "uri": "https://x.test/t", "method": "POST", "config": {"headers": {"X-N": 1}}}`, jwtStep), bothRefuse},
	{"issuer on an HTTP step", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "issuer": "https://x.test"}`), bothRefuse},
	{"algorithms on an HTTP step", acme("", tokenStep, `{"name": "jwt", "uri": "https://x.test/me", "algorithms": ["RS256"]}`), bothRefuse},
	{"decode step with a method", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "method": "POST"}`), bothRefuse},
	{"decode step with a form", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "form": {}}`), bothRefuse},
	{"decode step with headers", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "config": {"headers": {}}}`), bothRefuse},
	{"verified decode step without issuer", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "https://i.test/jwks"}`), bothRefuse},
	{"algorithm HS256", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "algorithms": ["HS256"]}`), bothRefuse},
	{"algorithm none", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "algorithms": ["RS256", "none"]}`), bothRefuse},
	{"algorithm in lower case", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "algorithms": ["rs256"]}`), bothRefuse},
	{"algorithms empty", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "algorithms": []}`), bothRefuse},
	{"algorithms a string", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "algorithms": "RS256"}`), bothRefuse},
	{"verify as a string", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "verify": "false"}`), bothRefuse},
	{"algorithm HS256 in a built-in override", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "jwt", "algorithms": ["HS256"]}]}`), bothRefuse},
	{"error_path a number", acme("", tokenStep, `{"name": "jwt", "uri": "https://sso.acme.test/me", "error_path": 1}`), bothRefuse},
	{"error_path empty", acme("", tokenStep, `{"name": "jwt", "uri": "https://sso.acme.test/me", "error_path": ""}`), bothRefuse},
	{"error_path null", acme("", tokenStep, `{"name": "jwt", "uri": "https://sso.acme.test/me", "error_path": null}`), bothRefuse},
	{"error_path on a decode step", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "error_path": "errcode"}`), bothRefuse},
	{"built-in step override without name", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"issuer": "https://accounts.google.com"}]}`), bothRefuse},
	{"custom strategy without steps", strats(`"acme": {"auth_uri": "https://sso.acme.test/authorize", "client_id": "c"}`), bothRefuse},
	{"custom strategy with no steps", strats(`"acme": {` + acmeKeys + `, "steps": []}`), bothRefuse},
	{"auth_uri without a scheme", strats(`"acme": {"auth_uri": "sso.acme.test/authorize", "client_id": "c", "steps": [` + tokenStep + `, ` + jwtStep + `]}`), bothRefuse},
	{"auth_uri without a host", strats(`"acme": {"auth_uri": "https:///authorize", "client_id": "c", "steps": [` + tokenStep + `, ` + jwtStep + `]}`), bothRefuse},
	{"step uri without a scheme", acme("", tokenStep, `{"name": "jwt", "uri": "//sso.acme.test/me"}`), bothRefuse},
	{"jwks_uri without a scheme", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://i.test", "jwks_uri": "i.test/jwks"}`), bothRefuse},
	{"logout_uri without a scheme", acme(`"logout_uri": "sso.acme.test/logout"`), bothRefuse},
	{"redirect_path with a query", acme(`"redirect_path": "/cb?x=1"`), bothRefuse},
	{"redirect_path with a trailing slash", acme(`"redirect_path": "/auth/acme/"`), bothRefuse},
	{"redirect_path with a wildcard", acme(`"redirect_path": "/auth/{x}/cb"`), bothRefuse},
	{"redirect_path on /", acme(`"redirect_path": "/"`), bothRefuse},
	{"redirect_path on /auth/login", acme(`"redirect_path": "/auth/login"`), bothRefuse},
	{"redirect_path on /auth/verify", acme(`"redirect_path": "/auth/verify"`), bothRefuse},
	{"redirect_path on /healthz", acme(`"redirect_path": "/healthz"`), bothRefuse},
	{"redirect_path on /metrics", acme(`"redirect_path": "/metrics"`), bothRefuse},
	{"redirect_path on the JWKS", acme(`"redirect_path": "/.well-known/jwks.json"`), bothRefuse},
	{"redirect_path on a strategy's login route", acme(`"redirect_path": "/auth/other/login"`), bothRefuse},
	{"redirect_path on a back-channel logout route", acme(`"redirect_path": "/auth/acme/backchannel-logout"`), bothRefuse},

	// Client keys, signed secrets, tenants, path segments.
	{"private_key_jwt with a client_key", acme(`"client_key": "${env.K}", "client_key_id": "k1"`, `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "client_auth": "private_key_jwt", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}}`, jwtStep), bothAccept},
	{"signed_client_secret", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "signed_client_secret": {"iss": "${team_id}", "aud": "https://appleid.apple.com", "lifetime": "720h"}}`), bothAccept},
	{"multi-tenant issuer with allowed_tenants", strats(`"microsoft-common": {"client_id": "c", "client_secret": "${env.S}", "allowed_tenants": "t1, t2"}`), bothAccept},
	{"a path segment", acme("", tokenStep, jwtStep, `{"name": "info", "uri": "https://sso.acme.test/tokens/${segment:token.access_token}"}`), bothAccept},
	{"client_auth misspelt", acme(`"client_key": "${env.K}"`, `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "client_auth": "private-key-jwt", "form": {"code": "${auth.code}"}}`, jwtStep), bothRefuse},
	{"client_key written in the file", acme(`"client_key": "-----BEGIN PRIVATE KEY-----"`), bothRefuse},
	{"signed_client_secret unknown member", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "signed_client_secret": {"iss": "T", "aud": "A", "exp": "1"}}`), bothRefuse},
	{"signed_client_secret without aud", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "signed_client_secret": {"iss": "T"}}`), bothRefuse},
	{"signed_client_secret lifetime not a duration", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "signed_client_secret": {"iss": "T", "aud": "A", "lifetime": "six months"}}`), bothRefuse},
	{"signed_client_secret a string", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "signed_client_secret": "jwt"}`), bothRefuse},

	// Loader-only: the loader refuses, the schema cannot say why.
	{"private_key_jwt without a client_key", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "client_auth": "private_key_jwt", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}}`, jwtStep), loaderOnly},
	{"signed_client_secret beside a client_secret", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "client_secret": "${env.S}"}`), loaderOnly},
	{"signed_client_secret lifetime over six months", strats(`"apple": {"client_id": "c", "team_id": "T", "key_id": "K", "signed_client_secret": {"iss": "T", "aud": "A", "lifetime": "4383h"}}`), loaderOnly},
	{"allowed_tenants without a multi-tenant issuer", acme(`"allowed_tenants": "t1"`), loaderOnly},
	{"multi-tenant issuer without jwks_uri", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://sso.acme.test/{tenantid}/v2.0"}`), loaderOnly},
	{"a path segment in the query", acme("", tokenStep, jwtStep, `{"name": "info", "uri": "https://sso.acme.test/tokens?t=${segment:token.access_token}"}`), loaderOnly},
	{"a path segment as the host", acme("", tokenStep, jwtStep, `{"name": "info", "uri": "https://${segment:token.host}/x"}`), loaderOnly},
	{"required_scopes without bearer", acme(`"required_scopes": ["a"]`), loaderOnly},
	{"bearer introspect without the step", acme(`"bearer": {"introspect": true}`), loaderOnly},
	{"upstream claim named sub", acme(`"upstream_claims": {"sub": "id"}`), loaderOnly},
	{"unknown ${variable}", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "form": {"code": "${auht.code}"}}`, jwtStep), loaderOnly},
	{"unclosed ${", acme(`"idp": "${env.IDP"`), loaderOnly},
	{"extends a name that is no built-in", strats(`"work": {"extends": "googel", "client_id": "c", "client_secret": "${env.S}"}`), loaderOnly},
	{"omit a step the built-in lacks", strats(`"work": {"extends": "google", "client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "revok", "omit": true}]}`), loaderOnly},
	{"${env} without a name", acme(`"idp": "${env}"`), loaderOnly},
	{"step read before it runs", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "form": {"sub": "${jwt.sub}"}}`, jwtStep), loaderOnly},
	{"step result in the host of a URI", acme("", tokenStep, jwtStep, `{"name": "userinfo", "uri": "https://${token.host}/userinfo"}`), loaderOnly},
	{"${auth.code} in the refresh step", acme("", tokenStep, jwtStep, `{"name": "refresh", "uri": "https://sso.acme.test/token", "method": "POST", "form": {"code": "${auth.code}"}}`), loaderOnly},
	{"${code_verifier} with pkce false", acme(`"pkce": false`), loaderOnly},
	{"variable reads ${state}", acme(`"idp": "${state}"`), loaderOnly},
	{"no step named jwt", acme("", tokenStep, `{"name": "user", "decode": "${token.id_token}", "issuer": "https://i.test"}`), loaderOnly},
	{"two steps of one name", acme("", tokenStep, jwtStep, tokenStep), loaderOnly},
	{"step named after a custom variable", acme(`"idp": "https://i.test"`, tokenStep, jwtStep, `{"name": "idp", "uri": "${idp}/x"}`), loaderOnly},
	{"claim reads the refresh step", acme(`"claims": {"x": "refresh.y"}`, tokenStep, jwtStep, `{"name": "refresh", "uri": "https://sso.acme.test/token", "method": "POST", "form": {"t": "${refresh_token}"}}`), loaderOnly},
	{"key given twice", `{"strategies": {"github": {"client_id": "c", "client_id": "d", "client_secret": "${env.S}"}}}`, loaderOnly},
	{"built-in without the client_secret its steps read", strats(`"google": {"client_id": "c"}`), loaderOnly},
	{"built-in new step without uri or decode", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "extra"}]}`), loaderOnly},
	{"built-in decode step given a uri", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "jwt", "uri": "https://x.test/me"}]}`), loaderOnly},
	{"base_uri with an empty host", acme(`"base_uri": "https://@/"`), loaderOnly},
	{"error_path a template", acme("", tokenStep, `{"name": "jwt", "uri": "https://sso.acme.test/me", "error_path": "${env.P}"}`), loaderOnly},
	{"error_path on a built-in's decode step", strats(`"google": {"client_id": "c", "client_secret": "${env.S}", "steps": [{"name": "jwt", "error_path": "errcode"}]}`), loaderOnly},
	{"variable cycle", acme(`"a": "${b}", "b": "${a}", "label": "${a}"`), loaderOnly},
	{"variable reads itself", acme(`"a": "x${a}", "label": "${a}"`), loaderOnly},
	{"issuer reads a step result", acme("", tokenStep, `{"name": "jwt", "decode": "${token.id_token}", "issuer": "${token.iss}"}`), loaderOnly},
	{"auth_uri from a variable without a scheme", strats(`"acme": {"idp": "sso.acme.test", "auth_uri": "${idp}/authorize", "client_id": "c", "steps": [` + tokenStep + `, ` + jwtStep + `]}`), loaderOnly},
	{"redirect_path with a .. segment", acme(`"redirect_path": "/auth/../cb"`), loaderOnly},
	{"two strategies share a redirect_path", strats(`"a": {` + acmeKeys + `, "redirect_path": "/cb", "steps": [` + tokenStep + `, ` + jwtStep + `]}, "b": {` + acmeKeys + `, "redirect_path": "/cb", "steps": [` + tokenStep + `, ` + jwtStep + `]}`), loaderOnly},
	{"a generated value with a path", acme("", `{"name": "token", "uri": "https://sso.acme.test/token", "method": "POST", "form": {"code": "${auth.code}", "s": "${state.x}"}}`, jwtStep), loaderOnly},

	// null is no value for any key: both refuse (the loader used to keep
	// the default silently).
	{"null for a string key", acme(`"label": null`), bothRefuse},
	{"null for a boolean key", acme(`"pkce": null`), bothRefuse},
	{"null custom variable", acme(`"idp": null`), bothRefuse},
	{"null steps", strats(`"acme": {` + acmeKeys + `, "steps": null}`), bothRefuse},

	// Schema-only: the loader lets these pass (a finding, not a design).
	{"$schema a number", `{"$schema": 5, "strategies": {"github": {"client_id": "c", "client_secret": "${env.S}"}}}`, schemaOnly},
	{"bad top-level base_uri that every strategy overrides", `{"base_uri": "app.example.com", "strategies": {"github": {"base_uri": "https://app.example.com", "client_id": "c", "client_secret": "${env.S}"}}}`, schemaOnly},
	// Also schema-only, too long for the table: a built-in override that
	// replaces every template reading a provider variable (okta_uri, tenant,
	// ...) need not set it for the loader; the schema requires it.
}

// TestSchemaAgreement runs the table: each snippet's verdicts from the loader
// (Check: any error refuses) and from the schema.
func TestSchemaAgreement(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t, "")
	for _, tc := range agreementCases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.file)
			ps := Check("snippet.json", data)
			loaderOK := !ps.HasErrors()
			serr := schemaCheck(t, sch, data)
			schemaOK := serr == nil
			var got verdict
			switch {
			case loaderOK && schemaOK:
				got = bothAccept
			case !loaderOK && !schemaOK:
				got = bothRefuse
			case !loaderOK:
				got = loaderOnly
			default:
				got = schemaOnly
			}
			if got != tc.want {
				errs, _ := ps.Split()
				t.Errorf("%s, want %s\n%s\nloader: %v\nschema: %v", got, tc.want, tc.file, errs, serr)
			}
		})
	}
}
