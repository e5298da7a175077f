package server_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
)

// standalone is a bench whose one server is the whole site, as `authflow
// serve` runs it, landing logins and sign-outs on "/" (serve's defaults).
func standalone(t *testing.T, mod func(*server.Config)) (*authtest.Bench, *authtest.Browser) {
	t.Helper()
	b := authtest.New(t, authtest.Options{
		Handler: func(s *server.Server) http.Handler { return s },
		Config: func(c *server.Config) {
			c.SigninSuccess, c.SignoutSuccess = "", ""
			if mod != nil {
				mod(c)
			}
		},
	})
	br := authtest.NewBrowser(t, b.URL, authtest.BrowserOptions{Transport: b.Client().Transport, IdP: b.IdP, Home: "/"})
	return b, br
}

// page checks that p is an authflow HTML page with the pages' CSP.
func page(t *testing.T, what string, p *authtest.Page, status int) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: %d, want %d: %s", what, p.Status, status, p.Body)
	}
	if ct := p.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q, want an HTML page", what, ct)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'") {
		t.Errorf("%s: Content-Security-Policy %q", what, csp)
	}
	if !strings.Contains(p.Body, "<style>") || strings.Contains(p.Body, "404 page not found") {
		t.Errorf("%s: not a styled page:\n%s", what, p.Body)
	}
}

// TestAccountPage: a standalone server lands the browser on "/" after the
// login and after sign-out, and "/" is the account page: who is signed in,
// with what, until when, and a sign-out button that posts to the sign-out
// route (same-origin only); signed out, the note and a sign-in link.
func TestAccountPage(t *testing.T) {
	t.Parallel()
	b, br := standalone(t, nil)

	p := br.Get("/")
	page(t, "GET / signed out", p, http.StatusOK)
	for _, want := range []string{`id="signed-out">You are signed out.`, `<a class="btn" id="signin" href="/auth/login">Sign in</a>`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("signed-out account page lacks %q:\n%s", want, p.Body)
		}
	}

	before := b.Clock.Now()
	br.MustLogin("dev", authtest.Ada()) // lands on "/", the default signin_success
	p = br.Get("/")
	page(t, "GET / signed in", p, http.StatusOK)
	expires := before.Add(24 * time.Hour).UTC()
	for _, want := range []string{
		`Signed in as <span id="user">Ada Lovelace</span>`,
		`<dd id="email">ada@example.test</dd>`,
		`<dd id="strategy">Dev (Basic)</dd>`,
		`datetime="` + expires.Format("2006-01-02T15:04:05Z07:00") + `"`,
		`<form method="post" action="/auth/signout">`,
		`id="signout" type="submit">Sign out</button>`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("account page lacks %q:\n%s", want, p.Body)
		}
	}
	if strings.Contains(p.Body, "signed-out") {
		t.Errorf("signed-in account page shows the signed-out note")
	}

	// The sign-out button keeps the sign-out route's rules: a form posted
	// from another site is refused, and the session stays.
	cross := br.Do(http.MethodPost, "/auth/signout", strings.NewReader(""), http.Header{
		"Origin": {"https://evil.example"}, "Content-Type": {"application/x-www-form-urlencoded"}})
	if cross.Status != http.StatusForbidden {
		t.Fatalf("cross-site sign-out: %d, want 403", cross.Status)
	}
	if status, _ := br.Session(); status != http.StatusOK {
		t.Fatalf("session after a refused cross-site sign-out: %d", status)
	}
	out := br.Post("/auth/signout")
	if out.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", out.Status)
	}
	// The dev strategy continues at the IdP's end_session, which returns
	// to the base URI's "/"; without it, straight to "/".
	if u, _ := url.Parse(out.Location); !strings.HasPrefix(out.Location, b.IdPURL) && u.Path != "/" {
		t.Fatalf("sign-out to %q", out.Location)
	}
	p = br.Get("/")
	page(t, "GET / after sign-out", p, http.StatusOK)
	if !strings.Contains(p.Body, `id="signed-out">You are signed out.`) {
		t.Errorf("after sign-out, no signed-out note:\n%s", p.Body)
	}
	b.AssertNoSecrets("account page", p.Body)
}

// TestNotFoundPages: unknown addresses and strategies answer with a styled
// page (escaping what the request put in it), JSON clients with JSON, and
// a GET of the sign-out route with 405 and a pointer to the button.
func TestNotFoundPages(t *testing.T) {
	t.Parallel()
	_, br := standalone(t, nil)

	p := br.Get("/auth/nosuch/login")
	page(t, "/auth/nosuch/login", p, http.StatusNotFound)
	if !strings.Contains(p.Body, "<h1>Unknown sign-in method</h1>") || !strings.Contains(p.Body, `href="/auth/login"`) {
		t.Errorf("/auth/nosuch/login:\n%s", p.Body)
	}

	p = br.Get("/nosuch/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
	page(t, "/nosuch", p, http.StatusNotFound)
	if strings.Contains(p.Body, "<script>") || !strings.Contains(p.Body, `<code id="path">/nosuch/&lt;script&gt;alert(1)&lt;/script&gt;</code>`) {
		t.Errorf("the path is not shown escaped:\n%s", p.Body)
	}

	p = br.Do(http.MethodGet, "/auth/nosuch", nil, http.Header{"Accept": {"application/json"}})
	if p.Status != http.StatusNotFound || p.JSON()["error"] != "not found" {
		t.Errorf("JSON client: %d %s", p.Status, p.Body)
	}

	p = br.Get("/auth/signout")
	page(t, "GET /auth/signout", p, http.StatusMethodNotAllowed)
	if p.Header.Get("Allow") != "POST" || !strings.Contains(p.Body, "Sign out with the button") {
		t.Errorf("GET /auth/signout: Allow %q:\n%s", p.Header.Get("Allow"), p.Body)
	}
}

// TestChooserNamesAppAndDestination: the chooser shows the application's
// name and where the browser goes after the login: only a path on this
// server, escaped.
func TestChooserNamesAppAndDestination(t *testing.T) {
	t.Parallel()
	_, br := standalone(t, func(c *server.Config) { c.AppName = `Acme <Portal>` })
	tests := []struct {
		returnTo string
		want     string // "" for no destination shown
	}{
		{"/reports/2026?team=ops", `continue to <code>/reports/2026?team=ops</code>`},
		{`/a"><script>alert(1)</script>`, `continue to <code>/a%22%3E%3Cscript%3Ealert%281%29%3C/script%3E</code>`},
		{"/x?q=\"'<b>", `continue to <code>/x?q=&#34;&#39;&lt;b&gt;</code>`},
		{"https://evil.example/phish", ""},
		{"//evil.example/", ""},
		{"", ""},
	}
	for _, tt := range tests {
		target := "/auth/login"
		if tt.returnTo != "" {
			target += "?return_to=" + url.QueryEscape(tt.returnTo)
		}
		p := br.Get(target)
		page(t, target, p, http.StatusOK)
		if !strings.Contains(p.Body, "<h1>Sign in to Acme &lt;Portal&gt;</h1>") {
			t.Errorf("%s: no application name:\n%s", target, p.Body)
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, "evil.example") {
			t.Errorf("%s: unsafe destination shown:\n%s", target, p.Body)
		}
		shown := strings.Contains(p.Body, `id="return-to"`)
		if tt.want == "" && shown {
			t.Errorf("%s: a destination is shown:\n%s", target, p.Body)
		}
		if tt.want != "" && !strings.Contains(p.Body, tt.want) {
			t.Errorf("%s: lacks %q:\n%s", target, tt.want, p.Body)
		}
	}
}

// TestCustomTemplates: a templates directory replaces the embedded pages
// file by file; the others stay. The logo's origin is allowed by the CSP.
func TestCustomTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chooser.html"), []byte(`{{define "chooser"}}<!doctype html><title>Acme</title><style>body{color:teal}</style>
<h1 id="acme">Acme sign-in for {{appName}}</h1>{{template "brand"}}{{range .Strategies}}<a href="{{.URL}}">{{.Label}}</a>{{end}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, br := standalone(t, func(c *server.Config) {
		c.TemplatesDir, c.AppName, c.LogoURL = dir, "Acme", "https://cdn.acme.example/logo.svg"
	})
	p := br.Get("/auth/login")
	page(t, "custom chooser", p, http.StatusOK)
	for _, want := range []string{`<h1 id="acme">Acme sign-in for Acme</h1>`, `<img src="https://cdn.acme.example/logo.svg"`, `href="/auth/dev/login">Dev (Basic)</a>`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("custom chooser lacks %q:\n%s", want, p.Body)
		}
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; img-src https://cdn.acme.example") {
		t.Errorf("CSP %q does not allow the logo", csp)
	}
	// The account page is still the embedded one, branded.
	p = br.Get("/")
	page(t, "embedded account page", p, http.StatusOK)
	if !strings.Contains(p.Body, `<span id="app-name">Acme</span>`) || !strings.Contains(p.Body, `id="signed-out"`) {
		t.Errorf("account page:\n%s", p.Body)
	}
}

// TestVerifyRoute: /auth/verify, which ServeHTTP answers ahead of the
// ServeMux, answers GET and HEAD like the ServeMux route would, with the
// headers of every answer; any other method, or a path beside it, goes on
// to the ServeMux's 405 and 404 pages.
func TestVerifyRoute(t *testing.T) {
	t.Parallel()
	_, br := standalone(t, nil)
	anon := authtest.NewBrowser(t, br.URL(), authtest.BrowserOptions{Transport: br.Client().Transport})
	br.MustLogin("dev", authtest.Ada())
	tests := []struct {
		who    *authtest.Browser
		method string
		target string
		status int
		user   string // X-Auth-User, "" for none
	}{
		{br, http.MethodGet, "/auth/verify", http.StatusOK, authtest.Ada().ID},
		{br, http.MethodHead, "/auth/verify", http.StatusOK, authtest.Ada().ID},
		{br, http.MethodGet, "/auth/verify?allowed_emails=nobody@example.com", http.StatusForbidden, ""},
		{anon, http.MethodGet, "/auth/verify", http.StatusUnauthorized, ""},
		{anon, http.MethodHead, "/auth/verify", http.StatusUnauthorized, ""},
		{br, http.MethodPost, "/auth/verify", http.StatusMethodNotAllowed, ""},
		{br, http.MethodDelete, "/auth/verify", http.StatusMethodNotAllowed, ""},
		{br, http.MethodGet, "/auth/verify/", http.StatusNotFound, ""},
		{br, http.MethodGet, "/auth/verifyx", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		what := tt.method + " " + tt.target
		p := tt.who.Do(tt.method, tt.target, nil, nil)
		if p.Status != tt.status {
			t.Errorf("%s: %d, want %d", what, p.Status, tt.status)
		}
		if got := p.Header.Get("X-Auth-User"); got != tt.user {
			t.Errorf("%s: X-Auth-User %q, want %q", what, got, tt.user)
		}
		if tt.status == http.StatusMethodNotAllowed && p.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q, want GET, HEAD", what, p.Header.Get("Allow"))
		}
		for name, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := p.Header.Get(name); got != want {
				t.Errorf("%s: %s %q, want %q", what, name, got, want)
			}
		}
	}
}
