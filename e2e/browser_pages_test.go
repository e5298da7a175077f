package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
)

// logoSVG is a small logo, as a data:image URL (a team would more often
// give an https URL on its own CDN).
const logoSVG = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIzMiIgaGVpZ2h0PSIzMiI+PHJlY3Qgd2lkdGg9IjMyIiBoZWlnaHQ9IjMyIiByeD0iNiIgZmlsbD0iIzFmNmZlYiIvPjwvc3ZnPg=="

// customNotFound is a team's own not_found page (a templates directory).
const customNotFound = `{{define "not_found"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;background:#0b3d2e;color:#fff;padding:3rem}a{color:#9fe}</style></head>
<body>{{template "brand"}}<h1 id="custom">Lost? {{.Title}}</h1><p>{{.Message}}</p><p><a href="/">Back to {{appName}}</a></p></body></html>{{end}}`

// TestBrowserPages walks a standalone server (as `authflow serve` runs
// it: logins and sign-outs land on "/") in headless Chromium: the account
// page signed out, the chooser with the application's name, the IdP's
// login form, the account page signed in (user, expiry, sign-out button),
// the sign-out button back to the signed-out note, and a styled 404 from a
// templates directory, every page with the logo, which the pages' CSP
// must let the browser load. Each step leaves a screenshot.
func TestBrowserPages(t *testing.T) {
	bin := chromium.need(t)
	shots := screenshotDir(t, "pages")
	tmpl := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmpl, "notfound.html"), []byte(customNotFound), 0o644); err != nil {
		t.Fatal(err)
	}
	b := authtest.New(t, authtest.Options{
		Handler: func(s *server.Server) http.Handler { return s },
		Config: func(c *server.Config) {
			c.SigninSuccess, c.SignoutSuccess = "", ""
			c.AppName, c.LogoURL, c.TemplatesDir = "Acme Portal", logoSVG, tmpl
		},
	})
	base := b.URL

	total, cancelTotal := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelTotal()
	ctx := newChromium(t, total, bin, true)

	taken := &screenshots{t: t, ctx: ctx, dir: shots}
	shot := taken.take
	// load runs the actions and waits for the page they lead to.
	load := func(what string, status int, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, actions...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if int(resp.Status) != status {
			t.Fatalf("%s: ended at %s with %d, want %d", what, resp.URL, resp.Status, status)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	at := func(want string) {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if loc != want {
			t.Fatalf("at %s, want %s", loc, want)
		}
	}
	// logo checks that the browser loaded the logo (the CSP allowed it).
	logo := func(page string) {
		t.Helper()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const i = document.querySelector("header.brand img"); return i && i.complete ? i.naturalWidth : -1 })()`))
		if err != nil {
			t.Fatal(err)
		}
		if w != 32 {
			t.Errorf("%s: logo not shown (naturalWidth %d): blocked by the CSP?", page, w)
		}
	}

	load("open /", 200, chromedp.Navigate(base+"/"))
	if got := text("#signed-out"); got != "You are signed out." {
		t.Fatalf("account page signed out: %q", got)
	}
	logo("account page")
	shot("account-signed-out")

	load("sign-in link", 200, chromedp.Click(chromedp.ID("signin")))
	at(base + "/auth/login")
	if got := text("h1"); got != "Sign in to Acme Portal" {
		t.Errorf("chooser h1 %q", got)
	}
	logo("chooser")
	shot("chooser")

	load("Continue with Dev (Basic)", 200, chromedp.Click(chromedp.JSPath(
		`[...document.querySelectorAll("main a")].find(a => a.textContent.trim() === "Continue with Dev (Basic)")`)))
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), authtest.Ada().Username),
		chromedp.SendKeys(chromedp.ID("password"), authtest.Ada().Password)); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	shot("idp-login")
	load("submit the login form", 200, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	at(base + "/")
	if got := text("#user"); got != authtest.Ada().Name {
		t.Errorf("signed in as %q, want %q", got, authtest.Ada().Name)
	}
	if got := text("#strategy"); got != "Dev (Basic)" {
		t.Errorf("strategy %q", got)
	}
	expires, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("expires").getAttribute("datetime")`))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := time.Parse(time.RFC3339, expires); err != nil || e.Sub(b.Clock.Now()) < 23*time.Hour || e.Sub(b.Clock.Now()) > 25*time.Hour {
		t.Errorf("session ends %q, want in about 24h", expires)
	}
	logo("account page")
	shot("account-signed-in")

	load("sign out", 200, chromedp.Click(chromedp.ID("signout")))
	at(base + "/")
	if got := text("#signed-out"); got != "You are signed out." {
		t.Fatalf("after sign-out: %q", got)
	}
	if status, _ := authtest.NewBrowser(t, base, authtest.BrowserOptions{Transport: b.Client().Transport}).Session(); status != http.StatusUnauthorized {
		t.Errorf("fresh browser session: %d", status)
	}
	shot("account-after-signout")

	load("unknown strategy", 404, chromedp.Navigate(base+"/auth/nosuch/login"))
	if got := text("#custom"); got != "Lost? Unknown sign-in method" {
		t.Errorf("custom 404 h1 %q", got)
	}
	logo("custom 404")
	shot("not-found-branded")

	checkScreenshots(t, shots, taken.n)
}
