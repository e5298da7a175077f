package strategies

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secFile is a valid strategy file; {{VARS}} adds keys, {{HEADERS}} the
// userinfo step's headers, {{FORM}} token form members and {{URI}} the
// userinfo step's uri.
const secFile = `{"base_uri": "https://app.test", "strategies": {"a": {
  "auth_uri": "https://idp.test/authorize?response_type=code&client_id=${client_id}&scope=${scope}&prompt=consent",
  "client_id": "cid-public", "client_secret": "${env.SECRET}", "scope": "openid email",
  "tenant_uri": "https://idp.test/tenants/42", {{VARS}}
  "steps": [
    {"name": "token", "uri": "https://idp.test/token", "method": "POST",
     "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}", {{FORM}}
              "client_id": "${client_id}"}},
    {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"},
    {"name": "userinfo", "uri": "{{URI}}",
     "config": {"headers": {"Accept": "application/json", {{HEADERS}} "Authorization": "Bearer ${token.access_token}"}}}]}}}`

// secCase is one literal secret in one position: explain must not print
// it, and validate must warn on field.
type secCase struct {
	name, vars, headers, form, uri string
	secret, field                  string
	shown                          string // what explain shows instead
}

var secCases = []secCase{
	{name: "custom variable api_token", vars: `"api_token": "tok-4f9aX2SECRET1",`, headers: `"X-Token": "${api_token}",`,
		secret: "SECRET1", field: "api_token", shown: `"api_token": "********"`},
	{name: "custom variable apikey", vars: `"apikey": "AKIA7SECRET2",`, form: `"key": "${apikey}",`,
		secret: "SECRET2", field: "apikey", shown: `"key": "${apikey}"`},
	{name: "header X-Api-Key", headers: `"X-Api-Key": "sk_live_SECRET3",`,
		secret: "SECRET3", field: "config.headers.X-Api-Key", shown: `"X-Api-Key": "********"`},
	{name: "header Private-Token", headers: `"Private-Token": "glpat-SECRET4",`,
		secret: "SECRET4", field: "config.headers.Private-Token", shown: `"Private-Token": "********"`},
	{name: "form client_assertion", form: `"client_assertion": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.SECRET5",`,
		secret: "SECRET5", field: "form.client_assertion", shown: `"client_assertion": "********"`},
	{name: "api_key in a URI query", uri: "https://idp.test/userinfo?api_key=SECRET6&format=json",
		secret: "SECRET6", field: "uri", shown: `https://idp.test/userinfo?api_key=********&format=json`},
}

func (c secCase) file() []byte {
	uri := c.uri
	if uri == "" {
		uri = "https://idp.test/userinfo"
	}
	return []byte(strings.NewReplacer("{{VARS}}", c.vars, "{{HEADERS}}", c.headers, "{{FORM}}", c.form, "{{URI}}", uri).Replace(secFile))
}

// TestExplainMasksByPosition: a literal in a header, a body, config.auth, a
// custom variable or a URI's query is masked whatever its name; public
// values and ${...} references stay readable.
func TestExplainMasksByPosition(t *testing.T) {
	t.Parallel()
	for _, c := range secCases {
		t.Run(c.name, func(t *testing.T) {
			set, err := Parse("f.json", c.file())
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Explain(&b, set.Strategies()[0]); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if strings.Contains(out, c.secret) {
				t.Errorf("explain prints the secret %q:\n%s", c.secret, out)
			}
			for _, want := range []string{c.shown, `"client_id": "cid-public"`, `"scope": "openid email"`, `"grant_type": "${grant_type}"`,
				`"Accept": "application/json"`, `"tenant_uri": "https://idp.test/tenants/42"`, `"Authorization": "Bearer ${token.access_token}"`,
				`prompt=consent`, `"client_secret": "${env.SECRET}"`} {
				if !strings.Contains(out, want) {
					t.Errorf("explain lacks %s:\n%s", want, out)
				}
			}
		})
	}
}

// TestExplainMasksConfigAuthAndJSON: Basic credentials and JSON bodies are
// masked by position too, at any depth; the username (the client id) stays.
func TestExplainMasksConfigAuthAndJSON(t *testing.T) {
	t.Parallel()
	set, err := Parse("f.json", []byte(`{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://user:pw-SECRET7@idp.test/authorize", "client_id": "cid", "scope": "openid",
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST",
	     "config": {"auth": {"username": "cid", "password": "SECRET8"}},
	     "json": {"code": "${auth.code}", "code_verifier": "${code_verifier}", "creds": {"k": "SECRET9", "list": ["SECRET10"]}, "grant_type": "authorization_code"}},
	    {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Explain(&b, set.Strategies()[0]); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "SECRET") {
		t.Errorf("explain prints a secret:\n%s", out)
	}
	for _, want := range []string{`"username": "cid"`, `"grant_type": "authorization_code"`, `"code": "${auth.code}"`} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %s:\n%s", want, out)
		}
	}
}

// TestValidateWarnsLiteralSecret: each literal secret is a warning on its
// field that says what to do.
func TestValidateWarnsLiteralSecret(t *testing.T) {
	t.Parallel()
	for _, c := range secCases {
		t.Run(c.name, func(t *testing.T) {
			ps := Check("f.json", c.file())
			var got []Problem
			for _, p := range ps {
				if strings.Contains(p.Message, "looks like a literal secret") {
					got = append(got, p)
				}
			}
			if len(got) != 1 || got[0].Field != c.field || got[0].Severity != SevWarning ||
				!strings.Contains(got[0].Message, "${env.NAME}") || strings.Contains(got[0].Error(), c.secret) {
				t.Errorf("want one warning on %s, saying to use ${env.NAME}, without the secret; got:\n%v", c.field, Problems(got))
			}
		})
	}
}

// TestNoLiteralSecretWarningsOnShippedFiles: the built-in catalogue and the
// testdata files hold no secrets; validate must not cry wolf about them.
func TestNoLiteralSecretWarningsOnShippedFiles(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../testdata/*.json")
	files = append(files, "../demo/strategies.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Check(f, data) {
			if strings.Contains(p.Message, "literal secret") {
				t.Errorf("false alarm: %s", p.Error())
			}
		}
	}
}

// TestPublicLiteralsShown: public literals stay readable in explain and
// raise no warning: protocol names and URNs, ids, URLs, host names, version
// headers, JSON:API sparse fieldsets (fields[user]), and custom variables
// that only form URIs.
func TestPublicLiteralsShown(t *testing.T) {
	t.Parallel()
	data := []byte(`{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://${host}/t/${tenant}/authorize?response_type=code&access_type=offline&response_mode=query",
	  "client_id": "cid", "client_secret": "${env.SECRET}", "scope": "openid",
	  "host": "login.idp.test", "tenant": "8eaef023-2b34-4da1-9baa-8bc8c9d6a490", "pool": "eu-west-1_AbC",
	  "steps": [
	    {"name": "token", "uri": "https://${host}/t/${tenant}/token?api-version=2.0", "method": "POST",
	     "config": {"headers": {"User-Agent": "authflow/1", "X-Api-Version": "2022-11-28", "Accept": "application/json"}},
	     "form": {"grant_type": "authorization_code", "code": "${auth.code}", "code_verifier": "${code_verifier}",
	              "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
	              "audience": "https://api.idp.test", "token_type_hint": "refresh_token", "team_id": "T0123"}},
	    {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://${host}/${pool}"},
	    {"name": "userinfo", "uri": "https://api.idp.test/v2/identity?fields%5Buser%5D=email,full_name&fields[member]=email",
	     "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]}}}`)
	for _, p := range Check("f.json", data) {
		if strings.Contains(p.Message, "literal secret") {
			t.Errorf("false alarm: %s", p.Error())
		}
	}
	set, err := Parse("f.json", data)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Explain(&b, set.Strategies()[0]); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), Mask) {
		t.Errorf("explain masks a public value:\n%s", b.String())
	}
}

// TestExplainMasksSecretInPath: a variable that forms a URI's path (a bot
// token in api.telegram.org/bot${bot_token}/getMe) is not public by use.
func TestExplainMasksSecretInPath(t *testing.T) {
	t.Parallel()
	set, err := Parse("f.json", []byte(`{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "scope": "openid", "bot_token": "123456:AAF-SECRET11",
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}},
	    {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"},
	    {"name": "bot", "uri": "https://api.telegram.test/bot${bot_token}/getMe"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Explain(&b, set.Strategies()[0]); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "SECRET11") || !strings.Contains(b.String(), `"uri": "https://api.telegram.test/bot${bot_token}/getMe"`) {
		t.Errorf("explain shows the bot token, or not the reference:\n%s", b.String())
	}
}
