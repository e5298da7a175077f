package server_test

// login_params: GET /auth/NAME/login passes allow-listed parameters on to
// the authorize URL, each value matched whole by its pattern; anything
// else is refused with authflow's 400 page before anything is sealed.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// lpStrategies is the bench's dev strategy with login_params.
const lpStrategies = `{
  "strategies": {
    "dev": {
      "idp": "{{IDP}}",
      "login_params": { "login_hint": "^[^\\s]{1,256}$", "prompt": "^(login|consent|select_account)$", "shop": "^[a-z0-9-]+$" },
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "basic-app",
      "client_secret": "${env.BASIC_SECRET}",
      "scope": "openid email profile",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}" } },
        { "name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${idp}/keys", "issuer": "${idp}" }
      ]
    }
  }
}`

// TestLoginParams: allow-listed parameters reach the authorize URL once
// each, query-escaped, beside return_to; the login completes.
func TestLoginParams(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: lpStrategies})
	br := b.NewBrowser()
	p := br.Get("/auth/dev/login?login_hint=ada%2Bwork%40example.test&prompt=login&return_to=%2Fapp%2Fdeep")
	if p.Status != http.StatusFound {
		t.Fatalf("login with allowed parameters: %d; body %s", p.Status, p.Body)
	}
	u, err := url.Parse(p.Location)
	if err != nil || !strings.HasPrefix(p.Location, b.IdPURL+"/authorize?") {
		t.Fatalf("redirect to %q", p.Location)
	}
	q := u.Query()
	if q["login_hint"][0] != "ada+work@example.test" || len(q["login_hint"]) != 1 || q.Get("prompt") != "login" || len(q["prompt"]) != 1 {
		t.Errorf("authorize URL %q: want login_hint=ada+work@example.test and prompt=login once each", p.Location)
	}
	if q.Has("return_to") || q.Has("shop") {
		t.Errorf("authorize URL %q carries return_to or an absent parameter", p.Location)
	}
	back := br.Get(br.SignIn(p.Location, authtest.Ada()))
	if back.Status != http.StatusFound || back.Location != b.URL+"/app/deep" {
		t.Fatalf("callback: %d to %q, want 302 to /app/deep", back.Status, back.Location)
	}
}

// TestLoginParamsRefused: a parameter that is not listed, a value its
// pattern refuses, and injection attempts (a second prompt, an empty
// unknown parameter, CR/LF, NUL, a host-changing shop, dot segments, a
// parameter that would redirect the code) get authflow's 400 page; no login
// cookie is set.
func TestLoginParamsRefused(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: lpStrategies})
	for _, query := range []string{
		"prompt=none&x=",
		"prompt=none",
		"x=1",
		"prompt=login&prompt=consent",
		"prompt=login%0d%0aLocation:%20https%3A%2F%2Fevil.test",
		"login_hint=ada%0d%0aSet-Cookie:%20a=b",
		"login_hint=ada%00",
		"login_hint=" + strings.Repeat("a", 257),
		"shop=evil.com/",
		"shop=evil.com",
		"shop=..",
		"shop=%2e%2e%2f",
		"shop=a@evil.test",
		"prompt=login;shop=x",
		"redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
		"state=attacker-chosen",
		"return_to=%2Fapp&client_id=other",
	} {
		t.Run(query, func(t *testing.T) {
			t.Parallel()
			br := b.NewBrowser()
			p := br.Get("/auth/dev/login?" + query)
			if p.Status != http.StatusBadRequest || p.Ref() == "" || !strings.Contains(p.Body, "not valid") {
				t.Fatalf("GET /auth/dev/login?%s: %d to %q, want authflow's 400 page", query, p.Status, p.Location)
			}
			for _, c := range p.Cookies() {
				if strings.Contains(c.Name, "authflow_login_") && c.Value != "" {
					t.Errorf("a refused login set its login cookie")
				}
			}
			b.AssertNoSecrets("error page", p.Body)
		})
	}
}

// TestLoginParamsCookieSize: the largest login parameters (256 bytes of a
// character JSON escapes six-fold) beside a 2000-byte return_to still make
// a login cookie that opens: return_to gives way, the login completes.
func TestLoginParamsCookieSize(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: lpStrategies})
	br := b.NewBrowser()
	p := br.Get("/auth/dev/login?login_hint=" + strings.Repeat("%3C", 256) + "&prompt=consent&return_to=%2F" + strings.Repeat("a", 2000))
	if p.Status != http.StatusFound {
		t.Fatalf("login: %d %s", p.Status, p.Body)
	}
	for _, c := range p.Cookies() {
		if strings.Contains(c.Name, "authflow_login_") && len(c.Value) > 4096 {
			t.Errorf("login cookie of %d bytes: browsers keep at most 4 KiB, and authflow would not open it", len(c.Value))
		}
	}
	if e := b.Logs.Entries("return_to dropped: the login cookie would exceed 4 KiB"); len(e) != 1 {
		t.Errorf("return_to dropped %d times, want once", len(e))
	}
	back := br.Get(br.SignIn(p.Location, authtest.Ada()))
	if back.Status != http.StatusFound || back.Location != b.URL+"/app/" {
		t.Fatalf("callback: %d to %q, want 302 to /app/ (return_to dropped); body %s", back.Status, back.Location, back.Body)
	}
}
