package server_test

// response_mode=form_post: the IdP (devidp, zitadel's op) answers the
// authorization with an auto-submitting form that POSTs code and state to
// the callback, cross-site. The login cookie must survive that POST
// (SameSite=None, still __Host-, sealed, spent once), and a forged or
// replayed POST must be refused.

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

// fpStrategies is the bench's dev strategy with response_mode form_post.
const fpStrategies = `{
  "strategies": {
    "dev": {
      "idp": "{{IDP}}",
      "response_mode": "form_post",
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

var (
	fpAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	fpInput  = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)"`)
)

// fpSignIn signs u in at the bench's IdP for authorizeURL and returns the
// form the IdP's answer page would make the browser POST: its action and
// its fields.
func fpSignIn(t *testing.T, b *authtest.Bench, authorizeURL string, u devidp.User) (string, url.Values) {
	t.Helper()
	idp, _ := url.Parse(b.IdPURL)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != idp.Host {
			t.Fatalf("the IdP redirected to %s: a form_post answer is a page, not a redirect", req.URL.Redacted())
		}
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("authorize ended at %s, not the login page", resp.Request.URL.Redacted())
	}
	form := url.Values{"authRequestID": {id}, "username": {u.Username}, "password": {u.Password}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, b.IdPURL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	m := fpAction.FindStringSubmatch(body.String())
	if m == nil {
		t.Fatalf("the IdP's answer (%s) has no form_post form: %s", resp.Status, body.String())
	}
	fields := url.Values{}
	for _, in := range fpInput.FindAllStringSubmatch(body.String(), -1) {
		fields.Add(in[1], html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), fields
}

// fpPost posts the IdP's form to the callback as the browser does after
// the IdP's page: cross-site, from the IdP's origin.
func fpPost(br *authtest.Browser, b *authtest.Bench, action string, form url.Values) *authtest.Page {
	return br.Do(http.MethodPost, action, strings.NewReader(form.Encode()), http.Header{
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Origin":         {b.IdPURL},
		"Sec-Fetch-Site": {"cross-site"},
	})
}

// fpStart starts a form_post login and returns the authorize URL and the
// login cookie it set.
func fpStart(t *testing.T, br *authtest.Browser) (string, *http.Cookie) {
	t.Helper()
	p := br.Get("/auth/dev/login")
	if p.Status != http.StatusFound {
		t.Fatalf("GET /auth/dev/login: %d", p.Status)
	}
	for _, c := range p.Cookies() {
		if strings.HasPrefix(c.Name, "__Host-authflow_login_") {
			return p.Location, c
		}
	}
	t.Fatalf("GET /auth/dev/login set no login cookie: %q", p.Header.Values("Set-Cookie"))
	return "", nil
}

// TestFormPostLogin: a form_post login end to end against devidp. The
// authorize URL asks for response_mode=form_post; the login cookie is
// SameSite=None, Secure, HttpOnly and __Host-; the IdP's POST signs the
// user in (303 to the home page) and clears the login cookie.
func TestFormPostLogin(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: fpStrategies})
	br := b.NewBrowser()
	authorize, lc := fpStart(t, br)
	if u, _ := url.Parse(authorize); u.Query().Get("response_mode") != "form_post" {
		t.Errorf("authorize URL %q lacks response_mode=form_post", authorize)
	}
	if lc.SameSite != http.SameSiteNoneMode || !lc.Secure || !lc.HttpOnly || lc.Path != "/" || lc.Domain != "" {
		t.Errorf("form_post login cookie %+v: want SameSite=None; Secure; HttpOnly; Path=/, no Domain", lc)
	}
	action, form := fpSignIn(t, b, authorize, authtest.Ada())
	if action != b.URL+"/auth/dev/callback" || form.Get("code") == "" || form.Get("state") == "" {
		t.Fatalf("IdP form: action %q, fields %v", action, form)
	}
	p := fpPost(br, b, action, form)
	if p.Status != http.StatusSeeOther || p.Location != b.URL+"/app/" {
		t.Fatalf("form_post callback: %d to %q, want 303 to /app/; body %s", p.Status, p.Location, p.Body)
	}
	cleared := false
	for _, c := range p.Cookies() {
		if c.Name == lc.Name && c.MaxAge < 0 {
			cleared = c.SameSite == http.SameSiteNoneMode
		}
	}
	if !cleared {
		t.Errorf("the callback does not clear the login cookie with its own attributes: %q", p.Header.Values("Set-Cookie"))
	}
	if status, s := br.Session(); status != http.StatusOK || s["user"] == nil {
		t.Fatalf("session after form_post login: %d %v", status, s)
	}
}

// TestFormPostAttacks: what a form_post callback refuses, each with
// authflow's 400 page and no session: a forged cross-site POST carrying
// another login's code and state (login CSRF: the attacker's own login
// pushed into the victim's browser); the same POST replayed, even with the
// login cookie put back; a GET on the callback; the state in the query
// instead of the form; a body that is not a form, or too large.
func TestFormPostAttacks(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Strategies: fpStrategies})

	t.Run("forged cross-site POST with another login's state", func(t *testing.T) {
		attacker := b.NewBrowser()
		authorize, _ := fpStart(t, attacker)
		action, form := fpSignIn(t, b, authorize, authtest.Eve())
		victim := b.NewBrowser()
		fpStart(t, victim) // the victim has a login of her own pending
		p := fpPost(victim, b, action, form)
		if p.Status != http.StatusBadRequest || p.Ref() == "" {
			t.Fatalf("forged POST: %d to %q, want authflow's 400 page", p.Status, p.Location)
		}
		if status, _ := victim.Session(); status != http.StatusUnauthorized {
			t.Fatalf("the forged POST signed the victim in (session %d)", status)
		}
		// The attacker's own login was not spent by the forgery.
		if p := fpPost(attacker, b, action, form); p.Status != http.StatusSeeOther {
			t.Errorf("the attacker's own POST after the forgery: %d", p.Status)
		}
	})

	t.Run("replayed POST", func(t *testing.T) {
		br := b.NewBrowser()
		authorize, lc := fpStart(t, br)
		action, form := fpSignIn(t, b, authorize, authtest.Ada())
		if p := fpPost(br, b, action, form); p.Status != http.StatusSeeOther {
			t.Fatalf("first POST: %d", p.Status)
		}
		again := b.NewBrowser()
		if p := fpPost(again, b, action, form); p.Status != http.StatusBadRequest {
			t.Errorf("replay from another browser: %d, want 400", p.Status)
		}
		again.SetCookie(lc.Name, lc.Value) // a stolen copy of the login cookie
		if p := fpPost(again, b, action, form); p.Status != http.StatusBadRequest || p.Ref() == "" {
			t.Errorf("replay with the login cookie: %d, want 400", p.Status)
		}
		if status, _ := again.Session(); status != http.StatusUnauthorized {
			t.Errorf("a replayed POST made a session (%d)", status)
		}
	})

	t.Run("GET on the callback", func(t *testing.T) {
		br := b.NewBrowser()
		authorize, _ := fpStart(t, br)
		action, form := fpSignIn(t, b, authorize, authtest.Ada())
		p := br.Get(action + "?" + form.Encode())
		if p.Status != http.StatusMethodNotAllowed || p.Ref() == "" || p.Header.Get("Allow") != "POST" {
			t.Fatalf("GET on a form_post callback: %d (Allow %q), want authflow's 405 page", p.Status, p.Header.Get("Allow"))
		}
		if status, _ := br.Session(); status != http.StatusUnauthorized {
			t.Fatalf("GET made a session")
		}
		// Nothing was spent: the real POST still works.
		if p := fpPost(br, b, action, form); p.Status != http.StatusSeeOther {
			t.Errorf("POST after the refused GET: %d", p.Status)
		}
	})

	t.Run("state and code in the query, not the form", func(t *testing.T) {
		br := b.NewBrowser()
		authorize, _ := fpStart(t, br)
		action, form := fpSignIn(t, b, authorize, authtest.Ada())
		p := fpPost(br, b, action+"?"+form.Encode(), url.Values{"x": {"1"}})
		if p.Status != http.StatusBadRequest {
			t.Fatalf("POST with the answer in the query: %d, want 400", p.Status)
		}
	})

	t.Run("not a form, or too large", func(t *testing.T) {
		br := b.NewBrowser()
		authorize, _ := fpStart(t, br)
		action, form := fpSignIn(t, b, authorize, authtest.Ada())
		p := br.Do(http.MethodPost, action, strings.NewReader(`{"code":"x"}`), http.Header{"Content-Type": {"application/json"}})
		if p.Status != http.StatusBadRequest || p.Ref() == "" {
			t.Errorf("JSON body: %d, want 400", p.Status)
		}
		big := url.Values{"code": form["code"], "state": form["state"], "pad": {strings.Repeat("a", 70<<10)}}
		if p := fpPost(br, b, action, big); p.Status != http.StatusBadRequest || p.Ref() == "" {
			t.Errorf("70 KiB body: %d, want 400", p.Status)
		}
	})
}

// TestFormPostOnlyWhenDeclared: a strategy without response_mode
// form_post does not take a POST at its callback (a forged POST never runs
// a login step), and its login cookie stays SameSite=Lax.
func TestFormPostOnlyWhenDeclared(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	authorize, lc := fpStart(t, br)
	if lc.SameSite != http.SameSiteLaxMode {
		t.Errorf("a query-mode login cookie is %+v, want SameSite=Lax", lc)
	}
	back, err := url.Parse(br.SignIn(authorize, authtest.Ada()))
	if err != nil {
		t.Fatal(err)
	}
	grants := b.IdP.Stats().AuthorizationCodeGrants
	p := fpPost(br, b, b.URL+back.Path, back.Query())
	if p.Status != http.StatusMethodNotAllowed {
		t.Fatalf("POST on a query-mode callback: %d, want 405", p.Status)
	}
	if b.IdP.Stats().AuthorizationCodeGrants != grants {
		t.Errorf("the POST exchanged the code")
	}
	if p := br.Get(back.String()); p.Status != http.StatusFound {
		t.Errorf("the GET callback after the refused POST: %d", p.Status)
	}
}
