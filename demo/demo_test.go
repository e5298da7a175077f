package demo_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authflow/authflow/demo"
	"github.com/authflow/authflow/internal/authtest"
)

// TestDemoLoginLogout walks the demo the way a newcomer does, over HTTP:
// the protected page sends an anonymous browser to the chooser, the demo
// strategy to the IdP's login form, the callback back to the protected
// page, which shows the claims; sign-out ends the session.
func TestDemoLoginLogout(t *testing.T) {
	t.Parallel()
	base, d := startDemo(t)
	br := authtest.NewBrowser(t, base, authtest.BrowserOptions{IdP: d.IdP})
	dana := demo.Users[0]

	if p := br.Get("/"); p.Status != http.StatusOK || !strings.Contains(p.Body, `href="/protected"`) ||
		!strings.Contains(p.Body, `id="signed-out">You are signed out.`) {
		t.Fatalf("home: %d %s", p.Status, p.Body)
	}
	// An address nothing serves: authflow's page, not net/http's text.
	if p := br.Get("/nosuch"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "<h1>Page not found</h1>") ||
		!strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/nosuch: %d %q %s", p.Status, p.Header.Get("Content-Type"), p.Body)
	}
	p := br.Get("/protected")
	if p.Status != http.StatusFound || p.Location != base+"/auth/login?return_to=%2Fprotected" {
		t.Fatalf("/protected without a session: %d to %q", p.Status, p.Location)
	}
	if p = br.Get(p.Location); p.Status != http.StatusOK || !strings.Contains(p.Body, "Continue with Demo IdP") ||
		!strings.Contains(p.Body, "/auth/demo/login?return_to=%2Fprotected") {
		t.Fatalf("chooser: %d %s", p.Status, p.Body)
	}
	// The login form shows the demo accounts. (This authorize request's
	// form stays unused; Login below makes a fresh one.)
	if p = br.Get(br.StartLogin("demo", "/protected")); p.Status != http.StatusFound {
		t.Fatalf("authorize: %d", p.Status)
	}
	if form := br.Get(p.Location); !strings.Contains(form.Body, "<code>demo</code>") {
		t.Errorf("login page does not show the demo account:\n%s", form.Body)
	}
	if p = br.Login("demo", dana, "/protected"); p.Status != http.StatusFound || p.Location != base+"/protected" {
		t.Fatalf("callback: %d to %q: %s", p.Status, p.Location, p.Body)
	}
	if home := br.Get("/"); !strings.Contains(home.Body, `id="signed-in">You are signed in as demo@example.test.`) {
		t.Errorf("home while signed in: %s", home.Body)
	}
	p = br.Get(p.Location)
	for _, want := range []string{"Hello, Dana Demo", `<dd id="sub">demo-user-1</dd>`, "demo@example.test", "demo, admins", "&#34;email_verified&#34;: true"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("protected page lacks %q:\n%s", want, p.Body)
		}
	}
	if p.Status != http.StatusOK {
		t.Fatalf("protected: %d", p.Status)
	}

	// Federated logout: on to the IdP's end_session with the ID token as
	// hint; the IdP posts a back-channel logout token to authflow and sends
	// the browser home.
	p = br.Post("/auth/signout")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, base+"/idp/end_session?id_token_hint=") {
		t.Fatalf("sign-out: %d to %q, want 303 to the IdP's end_session", p.Status, p.Location)
	}
	if p = br.Get(p.Location); p.Status != http.StatusFound || p.Location != base+"/" {
		t.Fatalf("end_session: %d to %q, want 302 home", p.Status, p.Location)
	}
	if p := br.Get("/"); !strings.Contains(p.Body, `id="signed-out">You are signed out.`) || strings.Contains(p.Body, `id="signed-in"`) {
		t.Errorf("home after sign-out: no signed-out note: %s", p.Body)
	}
	if st := d.IdP.Stats(); st.BackchannelLogouts != 1 || st.BackchannelLogoutFailures != 0 {
		t.Errorf("IdP back-channel logouts %d (failures %d), want 1 delivered to authflow", st.BackchannelLogouts, st.BackchannelLogoutFailures)
	}
	if p = br.Get("/protected"); p.Status != http.StatusFound || !strings.Contains(p.Location, "/auth/login") {
		t.Errorf("/protected after sign-out: %d to %q, want the login", p.Status, p.Location)
	}
	if got := d.IdP.Stats().Revocations; got != 1 {
		t.Errorf("IdP revocations = %d, want 1 (the revoke step at sign-out)", got)
	}
}

// startDemo serves a demo on a local port until the test ends and returns
// its base URI.
func startDemo(t *testing.T) (string, *demo.Demo) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	d, err := demo.New(demo.Options{BaseURI: base})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	srv.Config.Handler = d
	srv.Start()
	t.Cleanup(d.Close)
	t.Cleanup(srv.Close)
	return base, d
}

func TestDemoRefusesBadBaseURI(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://x"} {
		if _, err := demo.New(demo.Options{BaseURI: base}); err == nil {
			t.Errorf("demo.New(%q) succeeded", base)
		}
	}
}
