package strategies

import (
	"strings"
	"testing"
)

// hatchFile is a minimal valid strategy "s" with extra keys (JSON
// members), auth_uri au and the given steps after token and jwt.
func hatchFile(au, extra string, steps ...string) string {
	if extra != "" {
		extra = ", " + extra
	}
	all := append([]string{
		`{"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}}`,
		`{"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}`,
	}, steps...)
	return `{"base_uri": "https://app.test", "strategies": {"s": {"auth_uri": "` + au + `", "client_id": "c", "scope": "openid"` +
		extra + `, "steps": [` + strings.Join(all, ", ") + `]}}}`
}

const hatchAuth = "https://idp.test/authorize?client_id=${client_id}&redirect_uri=${redirect_uri}"

// TestHatchesValidate: response_mode, refresh_userinfo and login_params
// are checked when the file loads, each problem naming strategy, field and
// cause; the good forms load.
func TestHatchesValidate(t *testing.T) {
	t.Parallel()
	userinfo := `{"name": "userinfo", "uri": "https://idp.test/userinfo", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`
	refresh := `{"name": "refresh", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "refresh_token", "refresh_token": "${refresh_token}"}}`
	for _, tc := range []struct {
		name, file, field, want string // want "" : loads without error
	}{
		{"form_post", hatchFile(hatchAuth, `"response_mode": "form_post"`), "", ""},
		{"query", hatchFile(hatchAuth, `"response_mode": "query"`), "", ""},
		{"unknown mode", hatchFile(hatchAuth, `"response_mode": "fragment"`), "response_mode", `"fragment" is not one of`},
		{"form_post in auth_uri only", hatchFile(hatchAuth+"&response_mode=form_post", ""), "auth_uri", "accepts a POST only with"},
		{"mode not a string", hatchFile(hatchAuth, `"response_mode": true`), "response_mode", "must be a string"},

		{"refresh_userinfo", hatchFile(hatchAuth, `"refresh_userinfo": true`, userinfo, refresh), "", ""},
		{"refresh_userinfo without userinfo", hatchFile(hatchAuth, `"refresh_userinfo": true`, refresh), "refresh_userinfo", `needs an HTTP step named "userinfo"`},
		{"refresh_userinfo without refresh", hatchFile(hatchAuth, `"refresh_userinfo": true`, userinfo), "refresh_userinfo", "nothing refreshes"},
		{"refresh_userinfo reading the callback", hatchFile(hatchAuth, `"refresh_userinfo": true`,
			`{"name": "userinfo", "uri": "https://idp.test/userinfo?code=${auth.code}"}`, refresh), "uri", "runs again after a refresh"},

		{"login_params", hatchFile(hatchAuth+"&prompt=${login.prompt}", `"login_params": {"prompt": "login|consent", "login_hint": "[^\\s]{1,256}"}`), "", ""},
		{"host label", hatchFile("https://${login.shop}.myshopify.com/admin/oauth/authorize?client_id=${client_id}", `"login_params": {"shop": "[a-z0-9-]+"}`), "", ""},
		{"host label in a step", hatchFile(hatchAuth, `"login_params": {"shop": "[a-z0-9-]+"}`,
			`{"name": "shopinfo", "uri": "https://${login.shop}.myshopify.com/admin/api/shop.json"}`), "", ""},
		{"whole host", hatchFile("https://${login.shop}/authorize?client_id=${client_id}", `"login_params": {"shop": "[a-z]+"}`), "auth_uri", "only one label of a URI's host"},
		{"one label after", hatchFile("https://${login.shop}.com/authorize?client_id=${client_id}", `"login_params": {"shop": "[a-z]+"}`), "auth_uri", "only one label"},
		{"part of a label", hatchFile("https://x${login.shop}.myshopify.com/a?client_id=${client_id}", `"login_params": {"shop": "[a-z]+"}`), "auth_uri", "only one label"},
		{"in the path", hatchFile("https://idp.test/${login.shop}/authorize?client_id=${client_id}", `"login_params": {"shop": "[a-z]+"}`), "auth_uri", "only one label"},
		{"in the scheme", hatchFile("${login.shop}://idp.test/authorize?client_id=${client_id}", `"login_params": {"shop": "[a-z]+"}`), "auth_uri", "only one label"},
		{"userinfo part", hatchFile("https://${login.shop}@idp.test/authorize?client_id=${client_id}", `"login_params": {"shop": "[a-z]+"}`), "auth_uri", "only one label"},
		{"undeclared", hatchFile(hatchAuth+"&prompt=${login.prompt}", `"login_params": {"login_hint": ".+"}`), "auth_uri", "names no parameter of login_params"},
		{"reserved name", hatchFile(hatchAuth, `"login_params": {"redirect_uri": ".+"}`), "login_params.redirect_uri", "cannot come from the login request"},
		{"reserved state", hatchFile(hatchAuth, `"login_params": {"state": ".+"}`), "login_params.state", "cannot come from the login request"},
		{"placed literally", hatchFile(hatchAuth+"&prompt=login", `"login_params": {"prompt": "login|none"}`), "login_params.prompt", "auth_uri sends prompt itself"},
		{"bad name", hatchFile(hatchAuth, `"login_params": {"a b": ".+"}`), "login_params.a b", "a parameter name is"},
		{"bad pattern", hatchFile(hatchAuth, `"login_params": {"prompt": "("}`), "login_params.prompt", "not a regular expression"},
		{"empty pattern", hatchFile(hatchAuth, `"login_params": {"prompt": ""}`), "login_params.prompt", "empty pattern"},
		{"not an object", hatchFile(hatchAuth, `"login_params": ["prompt"]`), "login_params", "must be an object"},
		{"refresh reads a login param", hatchFile(hatchAuth, `"login_params": {"shop": "[a-z]+"}`,
			`{"name": "refresh", "uri": "https://idp.test/token?shop=${login.shop}", "method": "POST", "form": {"refresh_token": "${refresh_token}"}}`), "uri", "is not available here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var errs []string
			found := false
			for _, p := range Check("f.json", []byte(tc.file)) {
				if p.Severity != SevError {
					continue
				}
				errs = append(errs, p.Error())
				if p.Strategy == "s" && p.Field == tc.field && strings.Contains(p.Message, tc.want) {
					found = true
				}
			}
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("want no error, got %q", errs)
			case tc.want != "" && !found:
				t.Errorf("want an error on %s containing %q, got %q", tc.field, tc.want, errs)
			}
		})
	}
}

// TestHatchesPlan: what the plan says of the keys.
func TestHatchesPlan(t *testing.T) {
	t.Parallel()
	set, err := Parse("f.json", []byte(hatchFile(hatchAuth, `"response_mode": "form_post", "login_params": {"prompt": "login|consent"}`)))
	if err != nil {
		t.Fatal(err)
	}
	sp := set.Strategy("s")
	if !sp.FormPost() || sp.RefreshUserinfo() {
		t.Errorf("FormPost %v, RefreshUserinfo %v", sp.FormPost(), sp.RefreshUserinfo())
	}
	lp := sp.LoginParams()
	if len(lp) != 1 || lp[0].Name != "prompt" {
		t.Fatalf("LoginParams %v", lp)
	}
	// Anchored: the whole value must match, whatever the pattern says.
	for v, want := range map[string]bool{"login": true, "consent": true, "none": false, "login x": false, "xlogin": false, "consentx": false} {
		if got := lp[0].Pattern.MatchString(v); got != want {
			t.Errorf("pattern %q on %q = %v, want %v", lp[0].Pattern, v, got, want)
		}
	}
}
