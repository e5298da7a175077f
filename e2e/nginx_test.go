package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/demo"
	"github.com/authflow/authflow/devidp"
)

// nginxConf is docs/forward-auth.md's nginx configuration, on plain http on
// a local port, with the development IdP (/idp/) also behind nginx, as the
// demo serves it. %[1]s is the directory for nginx's files, %[2]s the listen
// address, %[3]s authflow's (the demo's) address, %[4]s the application's.
//
// Beyond the main snippet: X-Auth-Is-Admin is the documentation's group
// test in nginx itself (a map on $auth_groups, "Header encoding"). And for
// the test: one nginx process (master_process off), which the test ends by
// its pid.
const nginxConf = `
daemon off;
master_process off;
pid %[1]s/nginx.pid;
lock_file %[1]s/nginx.lock;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;

    upstream authflow { server %[3]s; }
    upstream app      { server %[4]s; }

    # Is "admins" one of the groups? A comma in X-Auth-Groups always
    # separates two groups (a comma inside a name is sent as %%2C).
    map $auth_groups $auth_is_admin {
        default 0;
        "~(^|,)admins(,|$)" 1;
    }

    server {
        listen %[2]s;
        server_name localhost;

        # authflow's own routes: login, callback, session, sign-out.
        location /auth/ {
            proxy_pass http://authflow;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }

        # The demo's development IdP.
        location /idp/ {
            proxy_pass http://authflow;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }

        # The check nginx makes before each request below.
        location = /auth/verify {
            internal;
            proxy_pass http://authflow;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $host;
        }

        location / {
            auth_request /auth/verify;
            auth_request_set $auth_user   $upstream_http_x_auth_user;
            auth_request_set $auth_email  $upstream_http_x_auth_email;
            auth_request_set $auth_groups $upstream_http_x_auth_groups;
            auth_request_set $auth_strategy $upstream_http_x_auth_strategy;
            proxy_set_header X-Auth-User   $auth_user;
            proxy_set_header X-Auth-Email  $auth_email;
            proxy_set_header X-Auth-Groups $auth_groups;
            proxy_set_header X-Auth-Strategy $auth_strategy;
            proxy_set_header X-Auth-Is-Admin $auth_is_admin;
            error_page 401 = @login;
            proxy_pass http://app;
        }

        # Allow-lists: one verify location per rule set (docs/forward-auth.md).
        location = /auth/verify-admins {
            internal;
            proxy_pass http://authflow/auth/verify?allowed_groups=admins&allowed_domains=example.test;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $host;
        }
        location = /auth/verify-ops {
            internal;
            proxy_pass http://authflow/auth/verify?allowed_groups=ops;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $host;
        }
        location /admin/ {
            auth_request /auth/verify-admins;
            auth_request_set $auth_user $upstream_http_x_auth_user;
            proxy_set_header X-Auth-User $auth_user;
            error_page 401 = @login;
            proxy_pass http://app;
        }
        location /ops/ {
            auth_request /auth/verify-ops;
            auth_request_set $auth_user $upstream_http_x_auth_user;
            proxy_set_header X-Auth-User $auth_user;
            error_page 401 = @login;
            proxy_pass http://app;
        }

        location @login {
            # return_to first: authflow takes the rest of the query as the path, unencoded.
            return 302 /auth/login?return_to=$request_uri;
        }
    }
}
`

// seen is what the application behind nginx received.
type seen struct {
	URI      string `json:"uri"`
	User     string `json:"user"`
	Email    string `json:"email"`
	Groups   string `json:"groups"`
	Strategy string `json:"strategy"`
	IsAdmin  string `json:"is_admin"` // X-Auth-Is-Admin, nginx's own group test
}

// TestNginxForwardAuth puts the demo (authflow and its IdP) and an
// application behind a real nginx configured for forward-auth, and checks
// that an anonymous request is sent to the login and back to the same URL
// afterwards, that the application receives the user in X-Auth-* headers,
// that a client cannot forge those headers, and that sign-out ends it.
func TestNginxForwardAuth(t *testing.T) {
	bin := nginx.need(t)

	// nginx's port first: it is the URL the browser uses, authflow's base URI.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	base := "http://" + listen

	d, err := demo.New(demo.Options{BaseURI: base})
	if err != nil {
		t.Fatal(err)
	}
	authSrv := httptest.NewServer(d)
	t.Cleanup(d.Close)
	t.Cleanup(authSrv.Close)

	var appHits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		appHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{URI: r.RequestURI, User: r.Header.Get("X-Auth-User"),
			Email: r.Header.Get("X-Auth-Email"), Groups: r.Header.Get("X-Auth-Groups"),
			Strategy: r.Header.Get("X-Auth-Strategy"), IsAdmin: r.Header.Get("X-Auth-Is-Admin")})
	}))
	t.Cleanup(app.Close)

	startNginx(t, bin, listen, authSrv.Listener.Addr().String(), app.Listener.Addr().String())

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type answer struct {
		status int
		loc    string // Location, resolved against the request's URL
		body   string
	}
	get := func(c *http.Client, target string, header http.Header) answer {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := answer{status: resp.StatusCode, body: string(b)}
		if u, err := resp.Location(); err == nil {
			a.loc = u.String()
		}
		return a
	}
	appSaw := func(a answer) seen {
		t.Helper()
		var s seen
		if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &s) != nil {
			t.Fatalf("want the application's answer, got %d: %s", a.status, a.body)
		}
		return s
	}
	forged := http.Header{"X-Auth-User": {"admin"}, "X-Auth-Email": {"admin@evil.test"},
		"X-Auth-Groups": {"root"}, "X-Auth-Strategy": {"forged"}, "X-Auth-Is-Admin": {"1"}}
	const page = "/app/page?x=1&y=2"
	wantLogin := base + "/auth/login?return_to=" + page

	// The verify endpoint is internal: a client cannot reach it.
	if a := get(browser, base+"/auth/verify", nil); a.status != http.StatusNotFound {
		t.Errorf("GET /auth/verify from outside: %d, want 404 (internal)", a.status)
	}

	// Anonymous, with or without forged headers: to the login, not to the app.
	for _, h := range []http.Header{nil, forged} {
		if a := get(browser, base+page, h); a.status != http.StatusFound || a.loc != wantLogin {
			t.Fatalf("anonymous %s (headers %v): %d to %q, want 302 to %q", page, h, a.status, a.loc, wantLogin)
		}
	}
	if n := appHits.Load(); n != 0 {
		t.Fatalf("the application saw %d anonymous requests", n)
	}

	// The chooser, with both strategies, each returning to the page.
	a := get(browser, wantLogin, nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, "Continue with Demo IdP<") ||
		!strings.Contains(a.body, "Continue with Demo IdP (public client, PKCE only)<") {
		t.Fatalf("chooser: %d: %s", a.status, a.body)
	}
	m := regexp.MustCompile(`href="(/auth/demo/login\?[^"]*)"`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("chooser has no link to the demo strategy: %s", a.body)
	}
	login := html.UnescapeString(m[1])
	if u, _ := url.Parse(login); u == nil || u.Query().Get("return_to") != page {
		t.Fatalf("chooser's demo link %q does not return to %q", login, page)
	}

	// The strategy's login sends the browser to the IdP, through nginx.
	a = get(browser, base+login, nil)
	if a.status != http.StatusFound || !strings.HasPrefix(a.loc, base+"/idp/authorize?") {
		t.Fatalf("%s: %d to %q, want the IdP's authorize endpoint", login, a.status, a.loc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	back, err := d.IdP.Login(ctx, nil, a.loc, "demo", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), base+"/auth/demo/callback?") {
		t.Fatalf("the IdP returns to %s, want the callback through nginx", back)
	}
	// The callback (its token, userinfo and JWKS calls also go through
	// nginx, to the IdP's issuer URL) returns to the page.
	if a = get(browser, back.String(), nil); a.status != http.StatusFound || a.loc != base+page {
		t.Fatalf("callback: %d to %q, want %s: %s", a.status, a.loc, base+page, a.body)
	}

	want := seen{URI: page, User: "demo-user-1", Email: "demo@example.test", Groups: "demo,admins", Strategy: "demo", IsAdmin: "1"}
	if got := appSaw(get(browser, a.loc, nil)); got != want {
		t.Errorf("the application saw %+v, want %+v", got, want)
	}
	// nginx overwrites a signed-in client's own X-Auth-* headers.
	if got := appSaw(get(browser, base+page, forged)); got != want {
		t.Errorf("with forged headers the application saw %+v, want %+v", got, want)
	}

	// Allow-lists through nginx: demo is in admins at example.test, not in
	// ops. Signed in but not allowed is 403 (not the login), and the
	// application never sees the request.
	if got := appSaw(get(browser, base+"/admin/x", nil)); got.User != "demo-user-1" {
		t.Errorf("/admin/ (allowed): the application saw %+v", got)
	}
	hits := appHits.Load()
	if a := get(browser, base+"/ops/x", nil); a.status != http.StatusForbidden {
		t.Errorf("/ops/ (not allowed): %d to %q, want 403", a.status, a.loc)
	}
	if n := appHits.Load(); n != hits {
		t.Errorf("the application saw the forbidden request")
	}
	if got := appSaw(get(browser, base+page, nil)); got != want {
		t.Errorf("after a 403 the session is gone: %+v", got)
	}

	// Sign-out (a same-origin form POST) ends it.
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/signout", strings.NewReader(""))
	req.Header.Set("Origin", base)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The demo strategy has logout_uri: on to the IdP (through nginx),
	// whose back-channel logout token reaches authflow through nginx too,
	// and back home.
	endSession := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(endSession, base+"/idp/end_session?") {
		t.Fatalf("sign-out: %d to %q, want 303 to the IdP's end_session", resp.StatusCode, endSession)
	}
	if a := get(browser, endSession, nil); a.status != http.StatusFound || a.loc != base+"/" {
		t.Fatalf("end_session: %d to %q, want 302 home", a.status, a.loc)
	}
	if st := d.IdP.Stats(); st.BackchannelLogouts != 1 {
		t.Errorf("back-channel logouts delivered through nginx: %d, want 1 (failures %d)", st.BackchannelLogouts, st.BackchannelLogoutFailures)
	}
	hits = appHits.Load()
	for _, h := range []http.Header{nil, forged} {
		if a := get(browser, base+page, h); a.status != http.StatusFound || a.loc != wantLogin {
			t.Errorf("after sign-out (headers %v): %d to %q, want 302 to %q", h, a.status, a.loc, wantLogin)
		}
	}
	if n := appHits.Load(); n != hits {
		t.Errorf("the application saw %d requests after sign-out", n-hits)
	}
	if got := d.IdP.Stats().Revocations; got != 1 {
		t.Errorf("IdP revocations = %d, want 1", got)
	}
}

// TestNginxGroupsHeader signs in, through nginx, a user of the IdP whose
// groups are "staff,admins" (one group, with a comma in its name), " admins"
// (a leading space) and "devs". The application must receive X-Auth-Groups
// that splits on commas into exactly those three names once each element is
// percent-decoded, and nginx's own test for the group "admins" (a map on
// $auth_groups) must say no; so must the allow-list.
func TestNginxGroupsHeader(t *testing.T) {
	bin := nginx.need(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	base := "http://" + listen

	// One more account at the demo's IdP, for this test only: devidp copies
	// the list in New, and the e2e tests do not run in parallel.
	sam := devidp.User{ID: "demo-user-sam", Username: "sam", Password: "sam-password",
		Email: "\u212Aate@example.test", EmailVerified: true, Name: "Sam Staff",
		Groups: []string{"staff,admins", " admins", "devs"}}
	saved := demo.Users
	demo.Users = append(slices.Clip(saved), sam)
	d, err := demo.New(demo.Options{BaseURI: base})
	demo.Users = saved
	if err != nil {
		t.Fatal(err)
	}
	authSrv := httptest.NewServer(d)
	t.Cleanup(d.Close)
	t.Cleanup(authSrv.Close)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{URI: r.RequestURI, User: r.Header.Get("X-Auth-User"),
			Email: r.Header.Get("X-Auth-Email"), Groups: r.Header.Get("X-Auth-Groups"),
			Strategy: r.Header.Get("X-Auth-Strategy"), IsAdmin: r.Header.Get("X-Auth-Is-Admin")})
	}))
	t.Cleanup(app.Close)
	startNginx(t, bin, listen, authSrv.Listener.Addr().String(), app.Listener.Addr().String())

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	const page = "/app/groups"
	resp, _ := get(base + "/auth/demo/login?return_to=" + url.QueryEscape(page))
	authorize := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authorize, base+"/idp/authorize?") {
		t.Fatalf("login: %d to %q, want the IdP's authorize endpoint", resp.StatusCode, authorize)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	back, err := d.IdP.Login(ctx, nil, authorize, sam.Username, sam.Password)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(back.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != page {
		t.Fatalf("callback: %d to %q, want %s: %s", resp.StatusCode, resp.Header.Get("Location"), page, body)
	}

	resp, body := get(base + page)
	var got seen
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("%s: want the application's answer, got %d: %s", page, resp.StatusCode, body)
	}
	t.Logf("the application saw %+v", got)
	// What an upstream does with the header (docs/forward-auth.md): split on
	// commas, percent-decode each element.
	var groups []string
	for _, g := range strings.Split(got.Groups, ",") {
		dec, err := url.PathUnescape(g)
		if err != nil {
			t.Errorf("X-Auth-Groups element %q: %v", g, err)
		}
		groups = append(groups, dec)
	}
	if !slices.Equal(groups, sam.Groups) {
		t.Errorf("X-Auth-Groups %q decodes to %q, want %q", got.Groups, groups, sam.Groups)
	}
	if got.Groups != "staff%2Cadmins,%20admins,devs" {
		t.Errorf("X-Auth-Groups = %q, want %q", got.Groups, "staff%2Cadmins,%20admins,devs")
	}
	if got.IsAdmin != "0" {
		t.Errorf("nginx's map finds the group admins in X-Auth-Groups %q", got.Groups)
	}
	// The look-alike email arrives percent-encoded, so that an upstream's
	// Unicode case folding (Go's strings.EqualFold, Python's lower()) cannot
	// take it for kate@example.test.
	if want := "%E2%84%AAate@example.test"; got.Email != want {
		t.Errorf("X-Auth-Email = %q, want %q", got.Email, want)
	}
	if dec, _ := url.PathUnescape(got.Email); dec != sam.Email {
		t.Errorf("X-Auth-Email %q decodes to %q, want %q", got.Email, dec, sam.Email)
	}
	if got.User != sam.ID || got.Strategy != "demo" {
		t.Errorf("the application saw %+v", got)
	}
	// The allow-list sees one group "staff,admins": /admin/ (allowed_groups
	// admins) is refused.
	if resp, _ := get(base + "/admin/x"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("/admin/ as sam: %d, want 403", resp.StatusCode)
	}
}

// startNginx writes nginxConf into a temporary directory and runs nginx on
// listen until the test ends.
func startNginx(t *testing.T, bin, listen, authflowAddr, appAddr string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, listen, authflowAddr, appAddr), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// -e: the error log before the configuration is read (Debian's default
	// is stderr, others' a file under /var/log).
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = out, out
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	errorLog := func() string {
		a, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(a) + string(b)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx's log:\n%s", errorLog())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s\n%s", cmd.ProcessState, errorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s:\n%s", listen, errorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
