package demo_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/demo"
)

// TestDemoLoginLogout walks the demo the way a newcomer does, over HTTP:
// the protected page sends an anonymous browser to the chooser, the demo
// strategy to the IdP's login form, the callback back to the protected
// page, which shows the claims; sign-out ends the session.
func TestDemoLoginLogout(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	d, err := demo.New(demo.Options{BaseURI: base})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = d
	srv.Start()
	defer srv.Close()
	defer d.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		loc := ""
		if u, err := resp.Location(); err == nil {
			loc = u.String()
		}
		return resp.StatusCode, loc, string(b)
	}

	if status, _, body := get(base + "/"); status != http.StatusOK || !strings.Contains(body, `href="/protected"`) {
		t.Fatalf("home: %d %s", status, body)
	}
	status, loc, _ := get(base + "/protected")
	if status != http.StatusFound || loc != base+"/auth/login?return_to=%2Fprotected" {
		t.Fatalf("/protected without a session: %d to %q", status, loc)
	}
	status, _, body := get(loc)
	if status != http.StatusOK || !strings.Contains(body, "Continue with Demo IdP") ||
		!strings.Contains(body, "/auth/demo/login?return_to=%2Fprotected") {
		t.Fatalf("chooser: %d %s", status, body)
	}
	status, authorize, _ := get(base + "/auth/demo/login?return_to=%2Fprotected")
	if status != http.StatusFound || !strings.HasPrefix(authorize, base+"/idp/authorize?") {
		t.Fatalf("demo login: %d to %q", status, authorize)
	}
	// The login form shows the demo accounts.
	status, page, _ := get(authorize)
	if status != http.StatusFound {
		t.Fatalf("authorize: %d", status)
	}
	if _, _, form := get(page); !strings.Contains(form, "<code>demo</code>") {
		t.Errorf("login page does not show the demo account:\n%s", form)
	}
	// A fresh authorize request for the real sign-in (the first one's form
	// stays unused).
	status, authorize, _ = get(base + "/auth/demo/login?return_to=%2Fprotected")
	if status != http.StatusFound {
		t.Fatal(status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	back, err := d.IdP.Login(ctx, nil, authorize, "demo", "demo")
	if err != nil {
		t.Fatal(err)
	}
	status, loc, body = get(back.String())
	if status != http.StatusFound || loc != base+"/protected" {
		t.Fatalf("callback: %d to %q: %s", status, loc, body)
	}
	status, _, body = get(loc)
	for _, want := range []string{"Hello, Dana Demo", `<dd id="sub">demo-user-1</dd>`, "demo@example.test", "demo, admins", "&#34;email_verified&#34;: true"} {
		if !strings.Contains(body, want) {
			t.Errorf("protected page lacks %q:\n%s", want, body)
		}
	}
	if status != http.StatusOK {
		t.Fatalf("protected: %d", status)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/auth/signout", strings.NewReader(url.Values{}.Encode()))
	req.Header.Set("Origin", base)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Federated logout: on to the IdP's end_session with the ID token as
	// hint; the IdP posts a back-channel logout token to authflow and sends
	// the browser home.
	endSession := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(endSession, base+"/idp/end_session?id_token_hint=") {
		t.Fatalf("sign-out: %d to %q, want 303 to the IdP's end_session", resp.StatusCode, endSession)
	}
	if status, loc, _ := get(endSession); status != http.StatusFound || loc != base+"/" {
		t.Fatalf("end_session: %d to %q, want 302 home", status, loc)
	}
	if st := d.IdP.Stats(); st.BackchannelLogouts != 1 || st.BackchannelLogoutFailures != 0 {
		t.Errorf("IdP back-channel logouts %d (failures %d), want 1 delivered to authflow", st.BackchannelLogouts, st.BackchannelLogoutFailures)
	}
	if status, loc, _ := get(base + "/protected"); status != http.StatusFound || !strings.Contains(loc, "/auth/login") {
		t.Errorf("/protected after sign-out: %d to %q, want the login", status, loc)
	}
	if got := d.IdP.Stats().Revocations; got != 1 {
		t.Errorf("IdP revocations = %d, want 1 (the revoke step at sign-out)", got)
	}
}

func TestDemoRefusesBadBaseURI(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://x"} {
		if _, err := demo.New(demo.Options{BaseURI: base}); err == nil {
			t.Errorf("demo.New(%q) succeeded", base)
		}
	}
}
