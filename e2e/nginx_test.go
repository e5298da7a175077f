package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
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
	"github.com/authflow/authflow/internal/authtest"
)

// nginxConf is docs/forward-auth.md's nginx configuration, on plain http on
// a local port, with the development IdP (/idp/) also behind nginx, as the
// demo serves it. %[1]s is the directory for nginx's files, %[2]s the listen
// address, %[3]s authflow's (the demo's) address, %[4]s the application's.
//
// Beyond the main snippet: X-Auth-Is-Admin is the documentation's group
// test in nginx itself (a map on $auth_groups, "Header encoding"), and
// X-Auth-Token with jwks.json are docs/api-tokens.md's lines. And for
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

        # authflow's public keys, for the services that verify X-Auth-Token
        # (docs/api-tokens.md).
        location = /.well-known/jwks.json {
            proxy_pass http://authflow;
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
            auth_request_set $auth_token  $upstream_http_x_auth_token;
            proxy_set_header X-Auth-User   $auth_user;
            proxy_set_header X-Auth-Email  $auth_email;
            proxy_set_header X-Auth-Groups $auth_groups;
            proxy_set_header X-Auth-Strategy $auth_strategy;
            proxy_set_header X-Auth-Is-Admin $auth_is_admin;
            proxy_set_header X-Auth-Token $auth_token;
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

// nginxDemo is the demo (authflow and its IdP) and an application that
// echoes the X-Auth-* headers it receives, behind a real nginx configured
// for forward-auth; all stop when the test ends.
type nginxDemo struct {
	base    string // nginx's URL: the browser's, and authflow's base URI
	demo    *demo.Demo
	appHits *atomic.Int32 // requests the application received
}

// startNginxDemo starts the demo, the application and nginx in front of
// them. The demo's IdP has demo.Users' accounts (as they are when called).
func startNginxDemo(t *testing.T, bin string) *nginxDemo {
	t.Helper()
	// nginx's port first: it is the URL the browser uses, authflow's base
	// URI. It is free now, and nginx takes it below.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	n := &nginxDemo{base: "http://" + listen, appHits: new(atomic.Int32)}

	n.demo, err = demo.New(demo.Options{BaseURI: n.base})
	if err != nil {
		t.Fatal(err)
	}
	authSrv := httptest.NewServer(n.demo)
	t.Cleanup(n.demo.Close)
	t.Cleanup(authSrv.Close)

	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.appHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{URI: r.RequestURI, User: r.Header.Get("X-Auth-User"),
			Email: r.Header.Get("X-Auth-Email"), Groups: r.Header.Get("X-Auth-Groups"),
			Strategy: r.Header.Get("X-Auth-Strategy"), IsAdmin: r.Header.Get("X-Auth-Is-Admin")})
	}))
	t.Cleanup(app.Close)

	startNginx(t, bin, listen, authSrv.Listener.Addr().String(), app.Listener.Addr().String())
	return n
}

// browser returns a browser on nginx's URL that signs in at the demo's IdP.
func (n *nginxDemo) browser(t *testing.T) *authtest.Browser {
	return authtest.NewBrowser(t, n.base, authtest.BrowserOptions{IdP: n.demo.IdP})
}

// appSaw decodes what the application received, failing unless p is the
// application's answer.
func appSaw(t *testing.T, p *authtest.Page) seen {
	t.Helper()
	var s seen
	if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &s) != nil {
		t.Fatalf("want the application's answer, got %d: %s", p.Status, p.Body)
	}
	return s
}

// TestNginxForwardAuth puts the demo (authflow and its IdP) and an
// application behind a real nginx configured for forward-auth, and checks
// that an anonymous request is sent to the login and back to the same URL
// afterwards, that the application receives the user in X-Auth-* headers,
// that a client cannot forge those headers, and that sign-out ends it.
//
// Not parallel, as no e2e test is: each runs real programs (nginx, Chromium)
// on a 2-core machine, and TestNginxGroupsHeader changes demo.Users.
func TestNginxForwardAuth(t *testing.T) {
	n := startNginxDemo(t, nginx.need(t))
	base, br := n.base, n.browser(t)
	forged := http.Header{"X-Auth-User": {"admin"}, "X-Auth-Email": {"admin@evil.test"},
		"X-Auth-Groups": {"root"}, "X-Auth-Strategy": {"forged"}, "X-Auth-Is-Admin": {"1"}}
	const page = "/app/page?x=1&y=2"
	wantLogin := base + "/auth/login?return_to=" + page

	// The verify endpoint is internal: a client cannot reach it.
	if p := br.Get("/auth/verify"); p.Status != http.StatusNotFound {
		t.Errorf("GET /auth/verify from outside: %d, want 404 (internal)", p.Status)
	}

	// Anonymous, with or without forged headers: to the login, not to the app.
	for _, h := range []http.Header{nil, forged} {
		if p := br.GetWith(page, h); p.Status != http.StatusFound || p.Location != wantLogin {
			t.Fatalf("anonymous %s (headers %v): %d to %q, want 302 to %q", page, h, p.Status, p.Location, wantLogin)
		}
	}
	if hits := n.appHits.Load(); hits != 0 {
		t.Fatalf("the application saw %d anonymous requests", hits)
	}

	// The chooser, with both strategies, each returning to the page.
	p := br.Get(wantLogin)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Continue with Demo IdP<") ||
		!strings.Contains(p.Body, "Continue with Demo IdP (public client, PKCE only)<") {
		t.Fatalf("chooser: %d: %s", p.Status, p.Body)
	}
	m := regexp.MustCompile(`href="(/auth/demo/login\?[^"]*)"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("chooser has no link to the demo strategy: %s", p.Body)
	}
	login := html.UnescapeString(m[1])
	if u, _ := url.Parse(login); u == nil || u.Query().Get("return_to") != page {
		t.Fatalf("chooser's demo link %q does not return to %q", login, page)
	}

	// The strategy's login sends the browser to the IdP, through nginx.
	p = br.Get(login)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, base+"/idp/authorize?") {
		t.Fatalf("%s: %d to %q, want the IdP's authorize endpoint", login, p.Status, p.Location)
	}
	back := br.SignIn(p.Location, demo.Users[0])
	if !strings.HasPrefix(back, base+"/auth/demo/callback?") {
		t.Fatalf("the IdP returns to %s, want the callback through nginx", back)
	}
	// The callback (its token, userinfo and JWKS calls also go through
	// nginx, to the IdP's issuer URL) returns to the page.
	if p = br.Get(back); p.Status != http.StatusFound || p.Location != base+page {
		t.Fatalf("callback: %d to %q, want %s: %s", p.Status, p.Location, base+page, p.Body)
	}

	want := seen{URI: page, User: "demo-user-1", Email: "demo@example.test", Groups: "demo,admins", Strategy: "demo", IsAdmin: "1"}
	if got := appSaw(t, br.Get(p.Location)); got != want {
		t.Errorf("the application saw %+v, want %+v", got, want)
	}
	// nginx overwrites a signed-in client's own X-Auth-* headers.
	if got := appSaw(t, br.GetWith(page, forged)); got != want {
		t.Errorf("with forged headers the application saw %+v, want %+v", got, want)
	}

	// Allow-lists through nginx: demo is in admins at example.test, not in
	// ops. Signed in but not allowed is 403 (not the login), and the
	// application never sees the request.
	if got := appSaw(t, br.Get("/admin/x")); got.User != "demo-user-1" {
		t.Errorf("/admin/ (allowed): the application saw %+v", got)
	}
	hits := n.appHits.Load()
	if p := br.Get("/ops/x"); p.Status != http.StatusForbidden {
		t.Errorf("/ops/ (not allowed): %d to %q, want 403", p.Status, p.Location)
	}
	if n.appHits.Load() != hits {
		t.Errorf("the application saw the forbidden request")
	}
	if got := appSaw(t, br.Get(page)); got != want {
		t.Errorf("after a 403 the session is gone: %+v", got)
	}

	// Sign-out (a same-origin form POST) ends it. The demo strategy has
	// logout_uri: on to the IdP (through nginx), whose back-channel logout
	// token reaches authflow through nginx too, and back home.
	p = br.Post("/auth/signout")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, base+"/idp/end_session?") {
		t.Fatalf("sign-out: %d to %q, want 303 to the IdP's end_session", p.Status, p.Location)
	}
	if p := br.Get(p.Location); p.Status != http.StatusFound || p.Location != base+"/" {
		t.Fatalf("end_session: %d to %q, want 302 home", p.Status, p.Location)
	}
	if st := n.demo.IdP.Stats(); st.BackchannelLogouts != 1 {
		t.Errorf("back-channel logouts delivered through nginx: %d, want 1 (failures %d)", st.BackchannelLogouts, st.BackchannelLogoutFailures)
	}
	hits = n.appHits.Load()
	for _, h := range []http.Header{nil, forged} {
		if p := br.GetWith(page, h); p.Status != http.StatusFound || p.Location != wantLogin {
			t.Errorf("after sign-out (headers %v): %d to %q, want 302 to %q", h, p.Status, p.Location, wantLogin)
		}
	}
	if got := n.appHits.Load(); got != hits {
		t.Errorf("the application saw %d requests after sign-out", got-hits)
	}
	if got := n.demo.IdP.Stats().Revocations; got != 1 {
		t.Errorf("IdP revocations = %d, want 1", got)
	}
}

// TestNginxGroupsHeader signs in, through nginx, a user of the IdP whose
// groups are "staff,admins" (one group, with a comma in its name), " admins"
// (a leading space) and "devs". The application must receive X-Auth-Groups
// that splits on commas into exactly those three names once each element is
// percent-decoded, and nginx's own test for the group "admins" (a map on
// $auth_groups) must say no; so must the allow-list.
//
// Not parallel: it changes demo.Users while the demo starts.
func TestNginxGroupsHeader(t *testing.T) {
	bin := nginx.need(t)
	// One more account at the demo's IdP, for this test only: devidp copies
	// the list in New.
	sam := devidp.User{ID: "demo-user-sam", Username: "sam", Password: "sam-password",
		Email: "\u212Aate@example.test", EmailVerified: true, Name: "Sam Staff",
		Groups: []string{"staff,admins", " admins", "devs"}}
	saved := demo.Users
	demo.Users = append(slices.Clip(saved), sam)
	n := func() *nginxDemo {
		defer func() { demo.Users = saved }()
		return startNginxDemo(t, bin)
	}()
	br := n.browser(t)

	const page = "/app/groups"
	if p := br.Login("demo", sam, page); p.Status != http.StatusFound || p.Header.Get("Location") != page {
		t.Fatalf("callback: %d to %q, want %s: %s", p.Status, p.Header.Get("Location"), page, p.Body)
	}
	got := appSaw(t, br.Get(page))
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
	if p := br.Get("/admin/x"); p.Status != http.StatusForbidden {
		t.Errorf("/admin/ as sam: %d, want 403", p.Status)
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
	authtest.Eventually(t, "nginx to listen on "+listen, func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s\n%s", cmd.ProcessState, errorLog())
		default:
		}
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}
