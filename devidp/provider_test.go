package devidp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authflow/authflow/devidp"
)

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*devidp.Options)
		wantErr string // "" means New succeeds
	}{
		{"defaults", func(*devidp.Options) {}, ""},
		{"https issuer anywhere", func(o *devidp.Options) { o.Issuer = "https://idp.example.test/" }, ""},
		{"http on localhost", func(o *devidp.Options) { o.Issuer = "http://localhost:9000" }, ""},
		{"http on ::1", func(o *devidp.Options) { o.Issuer = "http://[::1]:9000" }, ""},
		{"http elsewhere with AllowInsecureHTTP", func(o *devidp.Options) {
			o.Issuer, o.AllowInsecureHTTP = "http://idp.internal:9000", true
		}, ""},
		{"no issuer", func(o *devidp.Options) { o.Issuer = "" }, "Issuer is required"},
		{"http elsewhere", func(o *devidp.Options) { o.Issuer = "http://idp.example.test" }, "loopback"},
		{"other scheme", func(o *devidp.Options) { o.Issuer = "ftp://127.0.0.1" }, "scheme"},
		{"issuer with query", func(o *devidp.Options) { o.Issuer = "https://idp.example.test?x=1" }, "query"},
		{"unknown algorithm", func(o *devidp.Options) { o.Algorithm = "HS256" }, "RS256 or ES256"},
		{"client without ID", func(o *devidp.Options) {
			o.Clients = append(o.Clients, devidp.Client{RedirectURIs: []string{callback}})
		}, "ID is required"},
		{"client twice", func(o *devidp.Options) { o.Clients = append(o.Clients, o.Clients[0]) }, "registered twice"},
		{"client without redirect URI", func(o *devidp.Options) { o.Clients[0].RedirectURIs = nil }, "redirect URI"},
		{"relative redirect URI", func(o *devidp.Options) { o.Clients[0].RedirectURIs = []string{"/cb"} }, "absolute"},
		{"secret method without secret", func(o *devidp.Options) { o.Clients[2].AuthMethod = "client_secret_basic" }, "needs a Secret"},
		{"unknown auth method", func(o *devidp.Options) { o.Clients[0].AuthMethod = "private_key_jwt" }, "auth method"},
		{"user without password", func(o *devidp.Options) { o.Users[0].Password = "" }, "Password are required"},
		{"user ID with colon", func(o *devidp.Options) { o.Users[0].ID = "a:b" }, "may not contain ':'"},
		{"username twice", func(o *devidp.Options) { o.Users[1].Username = o.Users[0].Username }, "configured twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := defaultOptions()
			opts.Clients = append([]devidp.Client(nil), opts.Clients...)
			opts.Users = append([]devidp.User(nil), opts.Users...)
			opts.Issuer = "http://127.0.0.1:9000"
			opts.Algorithm = "ES256" // fast key generation
			tt.mutate(&opts)
			_, err := devidp.New(opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "devidp: "):
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

// mounted is a Provider whose issuer has a path, mounted there on a mux.
type mounted struct{ p *devidp.Provider }

// newMountedServer serves a Provider with issuer srv.URL+prefix.
func newMountedServer(t *testing.T, prefix string) mounted {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	opts := defaultOptions()
	opts.Issuer = "http://" + srv.Listener.Addr().String() + prefix
	opts.Algorithm = "ES256"
	p, err := devidp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", p)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the application, not the IdP", http.StatusTeapot)
	})
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return mounted{p: p}
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	tricky := devidp.User{Username: `<b>eve</b>`, Password: `"><script>x</script>`}
	tests := []struct {
		name      string
		showHints bool
		want      []string
		notWant   []string
	}{
		{
			name: "plain",
			want: []string{
				"authflow development identity provider — not for production",
				`name="authRequestID"`, `name="username"`, `name="password"`, `method="post"`,
			},
			notWant: []string{"ada-password", "Demo accounts"},
		},
		{
			name:      "hints, escaped",
			showHints: true,
			want:      []string{"Demo accounts", "ada-password", "&lt;b&gt;eve&lt;/b&gt;", "&#34;&gt;&lt;script&gt;x&lt;/script&gt;"},
			notWant:   []string{"<b>eve</b>", "<script>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, func(o *devidp.Options) {
				o.ShowHints = tt.showHints
				o.Users = append(o.Users, tricky)
			})
			resp, err := p.client.Get(p.authorizeURL(webClient, callback, "openid", newFlow(), map[string]string{"login_hint": ada.Username}))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
				t.Fatalf("authorize ended at %s with %s, want the login page", resp.Request.URL, resp.Status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			page := string(body)
			for _, s := range append(tt.want, `value="ada"`) { // login_hint prefills the username
				if !strings.Contains(page, s) {
					t.Errorf("login page lacks %q", s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(page, s) {
					t.Errorf("login page holds %q", s)
				}
			}
		})
	}
}

func TestLoginFormStatuses(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	resp, err := p.client.Get(p.authorizeURL(webClient, callback, "openid", newFlow(), nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("authorize ended at %s, want the login page", resp.Request.URL)
	}
	noFollow := *p.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	submit := func(id, password string) (*http.Response, string) {
		t.Helper()
		resp, err := noFollow.PostForm(p.Issuer()+"/login", url.Values{"authRequestID": {id}, "username": {ada.Username}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	resp, body := submit(id, "wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") || resp.Header.Get("Location") != "" {
		t.Errorf("wrong password: %s, Location %q; want 401 and the form with an error", resp.Status, resp.Header.Get("Location"))
	}
	resp, _ = submit(id, ada.Password) // the same login may try again
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), p.Issuer()+"/authorize/callback?id=") {
		t.Errorf("right password: %s to %q; want 303 to op's callback", resp.Status, resp.Header.Get("Location"))
	}
	resp, _ = submit(id, ada.Password) // but it is finished now
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("finished login submitted again: %s, want 400", resp.Status)
	}
	resp, _ = submit("no-such-request", ada.Password)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown auth request: %s, want 400", resp.Status)
	}
	get, err := noFollow.Get(p.Issuer() + "/login?authRequestID=no-such-request")
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != http.StatusBadRequest {
		t.Errorf("GET login page of an unknown auth request: %s, want 400", get.Status)
	}
}

func TestRotateKeys(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	before := p.mustExchange(p.login(webClient, callback, "openid", f, ada), f.verifier, callback, webAuth)
	if err := p.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	f = newFlow()
	after := p.mustExchange(p.login(webClient, callback, "openid", f, ada), f.verifier, callback, webAuth)

	_, oldHeader := p.verifyIDToken(str(before, "id_token"), "RS256", webClient) // old key still published
	_, newHeader := p.verifyIDToken(str(after, "id_token"), "RS256", webClient)
	if oldHeader["kid"] == newHeader["kid"] {
		t.Errorf("kid %v did not change after RotateKeys", newHeader["kid"])
	}
	if keys, _ := p.getJSON("/keys")["keys"].([]any); len(keys) != 2 {
		t.Errorf("JWKS has %d keys after one rotation, want 2", len(keys))
	}
}
