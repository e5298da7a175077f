package e2e

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
)

// TestBrowserFormPostCrossSite signs in, in headless Chromium, with a
// response_mode=form_post strategy whose IdP is another site: authflow at
// https://127.0.0.1, the IdP at http://localhost. The IdP's page POSTs the
// code cross-site, a request on which Chromium sends no SameSite=Lax
// cookie: the login succeeds only because the form_post login cookie is
// SameSite=None (and Secure, __Host-).
func TestBrowserFormPostCrossSite(t *testing.T) {
	bin := chromium.need(t)
	app := httptest.NewUnstartedServer(nil)
	base := "https://" + app.Listener.Addr().String()
	idpSrv := httptest.NewUnstartedServer(nil)
	_, port, _ := strings.Cut(idpSrv.Listener.Addr().String(), ":")
	idpURL := "http://localhost:" + port
	user := devidp.User{ID: "user-fp", Username: "fp", Password: "fp-password", Email: "fp@example.test", EmailVerified: true, Name: "Form Post"}
	idp, err := devidp.New(devidp.Options{
		Issuer: idpURL,
		Clients: []devidp.Client{{ID: "fp-app", Secret: "fp-secret", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{base + "/auth/fp/callback"}}},
		Users: []devidp.User{user},
	})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = idp
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)

	set, err := strategies.Parse("fp.json", []byte(strings.ReplaceAll(`{
	  "strategies": { "fp": {
	    "idp": "{{IDP}}", "response_mode": "form_post",
	    "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
	    "client_id": "fp-app", "client_secret": "${env.FP_SECRET}", "scope": "openid email profile",
	    "steps": [
	      { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
	        "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
	        "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}" } },
	      { "name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${idp}/keys", "issuer": "${idp}" }
	    ] } } }`, "{{IDP}}", idpURL)))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(set, engine.Options{BaseURI: base,
		LookupEnv: func(k string) (string, bool) { return "fp-secret", k == "FP_SECRET" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	srv, err := server.New(eng, server.Config{BaseURI: base, SigninSuccess: "/app/", SignoutSuccess: "/signed-out"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	app.Config.Handler = authtest.AppHandler(srv)
	app.StartTLS()
	t.Cleanup(app.Close)

	total, cancelTotal := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelTotal()
	var browserLog bytes.Buffer
	defer func() {
		if t.Failed() && browserLog.Len() > 0 {
			t.Logf("browser output:\n%s", browserLog.String())
		}
	}()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.CombinedOutput(&browserLog))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(total, opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/auth/fp/login")); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, idpURL+"/login?") {
		t.Fatalf("after /auth/fp/login: at %s (%v), want the IdP's login form on %s", loc, err, idpURL)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), user.Username),
		chromedp.SendKeys(chromedp.ID("password"), user.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		// The IdP's answer is a page that posts itself to the callback;
		// the callback redirects to /app/.
		chromedp.WaitVisible(chromedp.CSS("body pre, body")),
	); err != nil {
		t.Fatal(err)
	}
	authtest.Eventually(t, "the browser back on authflow after the IdP's form post", func() bool {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		return strings.HasPrefix(loc, base+"/") && state == "complete"
	})
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if loc != base+"/app/" || !strings.Contains(body, `"sub":"user-fp"`) || !strings.Contains(body, `"strategy":"fp"`) {
		t.Fatalf("after the IdP's form post: at %s, page %q; want /app/ signed in as user-fp", loc, body)
	}
}
