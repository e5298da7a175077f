package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authflow/authflow/demo"
)

// TestBrowserDemo walks the demo in headless Chromium as a newcomer does:
// the home page, the protected page's redirect to the chooser, the IdP's
// login form, the protected page with the user's claims, the sign-out
// button back to the home page, after which the protected page asks for a
// sign-in again. Then the same with the public-client strategy. Each step
// leaves a screenshot.
//
// Over https the same walk checks that a real browser accepts authflow's
// Secure cookies with their __Host- names (it drops a __Host- cookie that
// breaks the prefix's rules, and the login would fail).
//
// Not parallel, nor are its two walks: one Chromium at a time on a 2-core
// machine.
func TestBrowserDemo(t *testing.T) {
	bin := chromium.need(t)
	t.Run("http", func(t *testing.T) { browserDemo(t, bin, false, screenshotDir(t, "")) })
	t.Run("https", func(t *testing.T) { browserDemo(t, bin, true, t.TempDir()) })
}

func browserDemo(t *testing.T, bin string, tls bool, shots string) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	// Over https the demo's engine calls its own IdP on srv: it must trust
	// srv's certificate, which exists once srv starts.
	client := &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return srv.Client().Transport.RoundTrip(r)
	})}
	if tls {
		base = "https://" + srv.Listener.Addr().String()
	}
	d, err := demo.New(demo.Options{BaseURI: base, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = d
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(d.Close)
	t.Cleanup(srv.Close)

	// The whole test, browser included, ends within a minute.
	total, cancelTotal := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelTotal()
	ctx := newChromium(t, total, bin, tls)
	taken := &screenshots{t: t, ctx: ctx, dir: shots}
	shot := taken.take
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// click clicks sel and waits for the page it leads to (after redirects).
	click := func(what string, sel chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, sel)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != 200 {
			t.Fatalf("%s: ended at %s with %d", what, resp.URL, resp.Status)
		}
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// chooser checks that the page is the chooser listing both strategies.
	chooser := func() {
		t.Helper()
		if loc := location(); !strings.HasPrefix(loc, base+"/auth/login?return_to=") {
			t.Fatalf("at %s, want the chooser", loc)
		}
		labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("main a")].map(a => a.textContent.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"Continue with Demo IdP", "Continue with Demo IdP (public client, PKCE only)"}
		if strings.Join(labels, "|") != strings.Join(want, "|") {
			t.Fatalf("chooser lists %q, want %q", labels, want)
		}
	}
	// signIn clicks the chooser's button labelled label and signs in as
	// demo on the IdP's login form.
	signIn := func(label, name string) {
		t.Helper()
		click("chooser: "+label, chromedp.Click(chromedp.JSPath(fmt.Sprintf(
			`[...document.querySelectorAll("main a")].find(a => a.textContent.trim() === %q)`, label))))
		if loc := location(); !strings.HasPrefix(loc, base+"/idp/login?") {
			t.Fatalf("after %q: at %s, want the IdP's login form", label, loc)
		}
		shot(name + "-idp-login")
		do("fill the login form",
			chromedp.SendKeys(chromedp.ID("username"), "demo"),
			chromedp.SendKeys(chromedp.ID("password"), "demo"))
		shot(name + "-idp-login-filled")
		click("submit the login form", chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	}
	// protected checks the protected page for Dana Demo.
	protected := func(strategy, groups string) {
		t.Helper()
		if loc := location(); loc != base+"/protected" {
			t.Fatalf("at %s, want %s/protected", loc, base)
		}
		for sel, want := range map[string]string{
			"h1": "Hello, Dana Demo", "#strategy": strategy, "#sub": "demo-user-1",
			"#email": "demo@example.test", "#groups": groups,
		} {
			if got := text(sel); got != want {
				t.Errorf("protected page: %s = %q, want %q", sel, got, want)
			}
		}
	}
	signOut := func(name string) {
		t.Helper()
		click("sign out", chromedp.Click(chromedp.ID("signout")))
		if loc := location(); loc != base+"/" {
			t.Fatalf("after sign-out: at %s, want the home page %s/", loc, base)
		}
		if h := text("h1"); h != "authflow demo" {
			t.Fatalf("after sign-out: h1 %q, want the home page's", h)
		}
		if note := text("#signed-out"); note != "You are signed out." {
			t.Errorf("after sign-out: note %q, want the signed-out note", note)
		}
		shot(name)
	}

	// The confidential client (client_secret_basic, PKCE, refresh, revoke).
	do("open the home page", chromedp.Navigate(base+"/"))
	if h := text("h1"); h != "authflow demo" {
		t.Fatalf("home page h1 = %q", h)
	}
	shot("home")
	click("open the protected page", chromedp.Click(chromedp.ID("open-protected")))
	chooser()
	if loc := location(); loc != base+"/auth/login?return_to=%2Fprotected" {
		t.Errorf("chooser at %s, want return_to=%%2Fprotected", loc)
	}
	shot("chooser")
	signIn("Continue with Demo IdP", "demo")
	protected("demo", "demo, admins")
	shot("demo-protected")
	signOut("demo-signed-out")

	// No session any more: the protected page asks for a sign-in again.
	do("reopen the protected page", chromedp.Navigate(base+"/protected"))
	chooser()
	shot("after-signout-chooser")
	if got := d.IdP.Stats().Revocations; got != 1 {
		t.Errorf("IdP revocations = %d, want 1 (the demo strategy's revoke step)", got)
	}

	// The public client: PKCE only, no secret. (The development IdP gives
	// the groups claim for the profile scope too.)
	signIn("Continue with Demo IdP (public client, PKCE only)", "demo-spa")
	protected("demo-spa", "demo, admins")
	shot("demo-spa-protected")
	signOut("demo-spa-signed-out")
	do("reopen the protected page", chromedp.Navigate(base+"/protected"))
	chooser()

	checkScreenshots(t, shots, taken.n)
}

// roundTripFunc is a func as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// screenshotDir returns $AUTHFLOW_SCREENSHOTS, else authflow-screenshots in
// the temporary directory, or its subdirectory sub when sub is not "",
// created, and says where it is also without -v.
func screenshotDir(t *testing.T, sub string) string {
	t.Helper()
	dir := os.Getenv("AUTHFLOW_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "authflow-screenshots")
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screenshots of an earlier run would mix with this run's.
	old, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9]-*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	t.Logf("screenshots in %s", dir)
	fmt.Println("e2e: browser screenshots in", dir)
	return dir
}

// checkScreenshots checks that dir holds n non-empty PNG files.
func checkScreenshots(t *testing.T, dir string, n int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "[0-9][0-9]-*.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != n {
		t.Errorf("%d screenshots in %s, want %d", len(files), dir, n)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s: not a PNG or nearly empty (%d bytes)", f, len(b))
		}
	}
}
