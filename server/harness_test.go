package server_test

// This file is the end-to-end test bench: a real OpenID provider (devidp,
// built on zitadel/oidc's certified op package) behind an httptest server,
// one or more authflow servers (TLS, so cookies are Secure as in
// production) in front of it, a fake clock shared by engine and server, a
// log buffer, a recorder of every token the IdP hands out, and a cookie-jar
// "browser" that follows the login through the IdP's login form.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// The registered clients. The Basic client's secret holds characters that
// client_secret_basic must form-encode (RFC 6749 §2.3.1).
const (
	basicClient  = "basic-app"
	basicSecret  = "basic:s3cr3t/+@"
	postClient   = "post-app"
	postSecret   = "post-s3cr3t"
	publicClient = "public-app"
)

// The users of the IdP's login form.
var (
	ada = devidp.User{ID: "user-ada", Username: "ada", Password: "ada-password",
		Email: "ada@example.test", EmailVerified: true, Name: "Ada Lovelace", Groups: []string{"admins", "devs"}}
	bob = devidp.User{ID: "user-bob", Username: "bob", Password: "bob-password",
		Email: "bob@example.test", EmailVerified: true, Name: "Bob"}
	// eve's email is not verified: allow-lists on emails and domains must
	// not trust it.
	eve = devidp.User{ID: "user-eve", Username: "eve", Password: "eve-password",
		Email: "eve@example.test", EmailVerified: false, Name: "Eve", Groups: []string{"admins"}}
)

// defaultStrategies is the strategy file of the bench, {{IDP}} standing for
// the IdP's URL. Three strategies, one per client:
//
//   - dev: client_secret_basic, keys from jwks_uri, userinfo merged,
//     refresh and revoke steps, back-channel logout;
//   - devpost: client_secret_post, keys through the issuer's discovery
//     document, refresh step;
//   - devpublic: a public client (PKCE, no secret).
//
// Secrets come from the environment (${env.*}), as SPEC requires.
const defaultStrategies = `{
  "strategies": {
    "dev": {
      "label": "Dev (Basic)",
      "idp": "{{IDP}}",
      "backchannel_logout": true,
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "basic-app",
      "client_secret": "${env.BASIC_SECRET}",
      "scope": "openid email profile groups offline_access",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}" } },
        { "name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${idp}/keys", "issuer": "${idp}" },
        { "name": "userinfo", "uri": "${idp}/userinfo",
          "config": { "headers": { "Authorization": "Bearer ${token.access_token}" } } },
        { "name": "refresh", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "refresh_token", "refresh_token": "${refresh_token}" } },
        { "name": "revoke", "uri": "${idp}/revoke", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "token": "${refresh_token}", "token_type_hint": "refresh_token" } }
      ]
    },
    "devpost": {
      "label": "Dev (POST)",
      "idp": "{{IDP}}",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "post-app",
      "client_secret": "${env.POST_SECRET}",
      "scope": "openid email profile offline_access",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}", "client_id": "${client_id}", "client_secret": "${client_secret}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" },
        { "name": "refresh", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "refresh_token", "refresh_token": "${refresh_token}",
                    "client_id": "${client_id}", "client_secret": "${client_secret}" } }
      ]
    },
    "devpublic": {
      "label": "Dev (public client)",
      "idp": "{{IDP}}",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "public-app",
      "scope": "openid email profile",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}", "client_id": "${client_id}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" }
      ]
    }
  }
}`

// benchEnv is what the strategies read from ${env.*}.
var benchEnv = map[string]string{"BASIC_SECRET": basicSecret, "POST_SECRET": postSecret}

// benchOptions configures a bench. The zero value is one authflow server
// with a memory store in front of an RS256 IdP.
type benchOptions struct {
	// Algorithm signs the IdP's ID tokens: RS256 (default) or ES256.
	Algorithm string
	// Instances is the number of authflow servers; more than one puts them
	// behind a load balancer (Bench.Route picks the one serving next) and
	// needs NewStore to return stores that share state.
	Instances int
	// NewStore returns instance i's store. Default: one memory store for all.
	NewStore func(t *testing.T, i int) server.Store
	// Strategies is the strategy file; default defaultStrategies.
	Strategies string
	// Tamper, when set, may rewrite each IdP answer's body on its way to the
	// engine (a man in the middle on the back channel).
	Tamper func(req *http.Request, body []byte) []byte
	// Intercept, when set, may answer an engine's request in the IdP's
	// place: a non-nil answer or error is returned instead of the IdP's (an
	// outage, a 503, a 429).
	Intercept func(req *http.Request) (*http.Response, error)
	// Config adjusts each server's Config before New.
	Config func(*server.Config)
}

// Bench is a running test bench.
type Bench struct {
	t      *testing.T
	IdP    *devidp.Provider
	IdPURL string
	// URL is the origin browsers use: the one server's, or the load
	// balancer's.
	URL    string
	Apps   []*App
	Clock  *Clock
	Logs   *LogBuffer
	Tokens *TokenRecorder

	front  *httptest.Server // TLS: the app itself or the load balancer
	route  atomic.Int32     // the instance the load balancer uses next
	client *http.Client     // trusts front's certificate
}

// App is one authflow server of the bench.
type App struct {
	Server *server.Server
	Engine *engine.Engine
	Store  server.Store
	URL    string // its own address (behind the load balancer, plain http)
}

// newBench starts an IdP and the authflow servers in front of it.
func newBench(t *testing.T, o benchOptions) *Bench {
	t.Helper()
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.Strategies == "" {
		o.Strategies = defaultStrategies
	}
	b := &Bench{t: t, Clock: newClock(), Logs: &LogBuffer{}}

	// The front's address is needed before the IdP registers redirect URIs,
	// and the IdP's before the strategies compile: start listeners first.
	b.front = httptest.NewUnstartedServer(nil)
	b.URL = "https://" + b.front.Listener.Addr().String()
	idpSrv := httptest.NewUnstartedServer(nil)
	b.IdPURL = "http://" + idpSrv.Listener.Addr().String()

	// The IdP posts back-channel logout tokens to the front, whose TLS
	// certificate exists only once it starts: the client's transport is
	// filled in then.
	late := &lateTransport{}
	backchannel := &http.Client{Timeout: 5 * time.Second, Transport: late}
	idp, err := devidp.New(devidp.Options{
		Issuer:            b.IdPURL,
		Algorithm:         o.Algorithm,
		BackchannelClient: backchannel,
		Clients: []devidp.Client{
			{ID: basicClient, Secret: basicSecret, AuthMethod: "client_secret_basic",
				RedirectURIs:           []string{b.URL + "/auth/dev/callback"},
				PostLogoutRedirectURIs: []string{b.URL + "/signed-out"},
				BackchannelLogoutURI:   b.URL + "/auth/dev/backchannel-logout"},
			{ID: postClient, Secret: postSecret, AuthMethod: "client_secret_post",
				RedirectURIs: []string{b.URL + "/auth/devpost/callback"}},
			{ID: publicClient, RedirectURIs: []string{b.URL + "/auth/devpublic/callback"}},
		},
		Users: []devidp.User{ada, bob, eve},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.IdP = idp
	idpSrv.Config.Handler = idp
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)

	b.Tokens = &TokenRecorder{next: http.DefaultTransport, tamper: o.Tamper, intercept: o.Intercept}
	b.Tokens.add(basicSecret, postSecret)
	set, err := strategies.Parse("bench.json", []byte(strings.ReplaceAll(o.Strategies, "{{IDP}}", b.IdPURL)))
	if err != nil {
		t.Fatal(err)
	}

	var shared *store.Memory
	for i := 0; i < o.Instances; i++ {
		var st server.Store
		if o.NewStore != nil {
			st = o.NewStore(t, i)
		} else {
			if shared == nil {
				shared = store.NewMemory(store.MemoryOptions{Now: b.Clock.Now})
				t.Cleanup(func() { shared.Close() })
			}
			st = shared
		}
		eng, err := engine.New(set, b.engineOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(eng.Close)
		cfg := server.Config{
			BaseURI:        b.URL,
			SigninSuccess:  "/app/",
			SignoutSuccess: "/signed-out",
			Store:          st,
			Logger:         slog.New(slog.NewJSONHandler(b.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Now:            b.Clock.Now,
		}
		if o.Config != nil {
			o.Config(&cfg)
		}
		srv, err := server.New(eng, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		b.Apps = append(b.Apps, &App{Server: srv, Engine: eng, Store: st})
	}

	if o.Instances == 1 {
		b.front.Config.Handler = appHandler(b.Apps[0].Server)
	} else {
		for _, a := range b.Apps {
			hs := httptest.NewServer(appHandler(a.Server))
			t.Cleanup(hs.Close)
			a.URL = hs.URL
		}
		b.front.Config.Handler = b.loadBalancer()
	}
	b.front.StartTLS()
	t.Cleanup(b.front.Close)
	b.client = b.front.Client()
	late.rt.Store(&b.client.Transport)
	return b
}

// lateTransport is a RoundTripper set after it is handed out.
type lateTransport struct {
	rt atomic.Pointer[http.RoundTripper]
}

// RoundTrip implements http.RoundTripper.
func (l *lateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return (*l.rt.Load()).RoundTrip(req)
}

// engineOptions are the options of the bench's engines: the recording
// transport, the bench's clock and base URI, and benchEnv.
func (b *Bench) engineOptions() engine.Options {
	return engine.Options{
		HTTPClient: &http.Client{Transport: b.Tokens},
		BaseURI:    b.URL,
		Now:        b.Clock.Now,
		LookupEnv:  func(k string) (string, bool) { v, ok := benchEnv[k]; return v, ok },
	}
}

// NewEngine compiles a strategy file ({{IDP}} standing for the IdP's URL)
// the way the bench does, with mod (if not nil) changing the options; the
// engine closes when the test ends. For reloads (Server.SetEngine).
func (b *Bench) NewEngine(t *testing.T, file string, mod func(*engine.Options)) *engine.Engine {
	t.Helper()
	set, err := strategies.Parse("reloaded.json", []byte(strings.ReplaceAll(file, "{{IDP}}", b.IdPURL)))
	if err != nil {
		t.Fatal(err)
	}
	opts := b.engineOptions()
	if mod != nil {
		mod(&opts)
	}
	eng, err := engine.New(set, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return eng
}

// appHandler mounts a Server the way an embedding Go application does:
// authflow's routes, an application page behind Require that shows the
// user it finds in the request's context, and an admin area behind
// RequireAllowed (group admins, email at example.test).
func appHandler(s *server.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", s)
	mux.Handle("/healthz", s)
	mux.Handle("/app/", s.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := server.UserFrom(r.Context())
		if !ok {
			http.Error(w, "no user in context", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "sub": u.Subject,
			"strategy": u.Strategy, "email": u.Email(), "groups": u.Groups()})
	})))
	mux.Handle("/admin/", s.RequireAllowed(server.Rules{Groups: []string{"admins"}, Domains: []string{"example.test"}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin area") })))
	mux.HandleFunc("/signed-out", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "signed out") })
	return mux
}

// loadBalancer forwards each request to the instance Route chose, like a
// load balancer without sticky sessions. It terminates TLS, so the
// instances speak plain http.
func (b *Bench) loadBalancer() http.Handler {
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		u, _ := url.Parse(b.Apps[b.route.Load()].URL)
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // the browser's origin, as a proxy preserves it
		pr.SetXForwarded()
	}}
}

// Route makes instance i serve the next requests.
func (b *Bench) Route(i int) { b.route.Store(int32(i)) }

// App returns the only (or first) server.
func (b *Bench) App() *App { return b.Apps[0] }

// Clock is a settable clock shared by the engines and servers of a bench.
// The IdP keeps real time: moving the clock forward makes authflow see its
// access tokens expire without the IdP noticing.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// LogBuffer collects the servers' JSON logs.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer for slog.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Entries returns the logged records whose msg is msg.
func (l *LogBuffer) Entries(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// WithRef returns the log record carrying reference id ref, or nil.
func (l *LogBuffer) WithRef(ref string) map[string]any {
	for _, line := range strings.Split(l.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["ref"] == ref {
			return e
		}
	}
	return nil
}

// TokenRecorder is the engines' transport: it remembers every secret that
// crosses the back channel — client secrets, authorization codes, access,
// refresh and ID tokens — so that tests can check none of them leaks into
// a log or a page, and lets Tamper rewrite the IdP's answers.
type TokenRecorder struct {
	next      http.RoundTripper
	tamper    func(*http.Request, []byte) []byte
	intercept func(*http.Request) (*http.Response, error)

	mu      sync.Mutex
	secrets []string
	answers []recorded
}

type recorded struct {
	path string
	body []byte
}

// RoundTrip implements http.RoundTripper.
func (r *TokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(body)
			if form, err := url.ParseQuery(string(b)); err == nil {
				r.add(form.Get("code"), form.Get("refresh_token"), form.Get("token"), form.Get("client_secret"))
			}
		}
	}
	if r.intercept != nil {
		if resp, err := r.intercept(req); resp != nil || err != nil {
			return resp, err
		}
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.add(gjson.GetBytes(body, "access_token").String(), gjson.GetBytes(body, "refresh_token").String(),
		gjson.GetBytes(body, "id_token").String())
	r.mu.Lock()
	r.answers = append(r.answers, recorded{req.URL.Path, body})
	r.mu.Unlock()
	if r.tamper != nil {
		body = r.tamper(req, body)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (r *TokenRecorder) add(vs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			r.secrets = append(r.secrets, v)
		}
	}
}

// Secrets returns every secret seen so far.
func (r *TokenRecorder) Secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.secrets...)
}

// Last returns the body of the newest IdP answer to a request for path.
func (r *TokenRecorder) Last(path string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.answers) - 1; i >= 0; i-- {
		if r.answers[i].path == path {
			return r.answers[i].body
		}
	}
	return nil
}

// assertNoSecrets fails when text holds any secret the recorder saw (or a
// recognisable fragment of a JWT).
func (b *Bench) assertNoSecrets(what, text string) {
	b.t.Helper()
	secrets := b.Tokens.Secrets()
	if len(secrets) == 0 {
		b.t.Fatalf("assertNoSecrets(%s): the recorder saw no secrets; the check would be vacuous", what)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			b.t.Errorf("%s contains a secret or token %.12q…", what, s)
		}
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) > 16 && strings.Contains(text, parts[2]) {
			b.t.Errorf("%s contains a JWT's signature %.12q…", what, parts[2])
		}
	}
}

// Browser is a user agent with its own cookie jar. It does not follow
// redirects by itself: tests see every hop.
type Browser struct {
	b   *Bench
	t   *testing.T
	jar http.CookieJar
	c   *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func (b *Bench) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{b: b, t: b.t, jar: jar, c: &http.Client{
		Jar:       jar,
		Transport: b.client.Transport,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Page is an answer the browser received.
type Page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string // the redirect target, resolved; "" for none
}

// JSON decodes the page's body.
func (p *Page) JSON() map[string]any {
	var m map[string]any
	json.Unmarshal([]byte(p.Body), &m)
	return m
}

// Ref returns the reference id an error page shows, or "".
func (p *Page) Ref() string {
	const open = `<code id="ref">`
	_, rest, ok := strings.Cut(p.Body, open)
	if !ok {
		return ""
	}
	ref, _, _ := strings.Cut(rest, "</code>")
	return ref
}

// Do sends a request. A target without scheme is a path on the bench's URL.
func (br *Browser) Do(method, target string, body io.Reader, header http.Header) *Page {
	br.t.Helper()
	if !strings.Contains(target, "://") {
		target = br.b.URL + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		br.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := br.c.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := &Page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	if loc, err := resp.Location(); err == nil {
		p.Location = loc.String()
	}
	return p
}

// Get is Do with GET, as a browser navigating (Accept: text/html).
func (br *Browser) Get(target string) *Page {
	br.t.Helper()
	return br.Do(http.MethodGet, target, nil, http.Header{"Accept": {"text/html"}})
}

// Post sends a form POST from the bench's own pages (Origin set).
func (br *Browser) Post(target string) *Page {
	br.t.Helper()
	return br.Do(http.MethodPost, target, strings.NewReader(""), http.Header{
		"Origin": {br.b.URL}, "Content-Type": {"application/x-www-form-urlencoded"}})
}

// StartLogin opens /auth/{strategy}/login (with return_to when not "") and
// returns the authorize URL it redirects to.
func (br *Browser) StartLogin(strategy, returnTo string) string {
	br.t.Helper()
	target := "/auth/" + strategy + "/login"
	if returnTo != "" {
		target += "?return_to=" + url.QueryEscape(returnTo)
	}
	p := br.Get(target)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, br.b.IdPURL+"/authorize?") {
		br.t.Fatalf("GET %s: %d to %q, want 302 to the IdP's authorize endpoint", target, p.Status, p.Location)
	}
	return p.Location
}

// SignIn fills in the IdP's login form as user and returns the callback
// URL the IdP sends the browser back to (not yet requested).
func (br *Browser) SignIn(authorizeURL string, u devidp.User) string {
	br.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	back, err := br.b.IdP.Login(ctx, nil, authorizeURL, u.Username, u.Password)
	if err != nil {
		br.t.Fatalf("signing in at the IdP: %v", err)
	}
	return back.String()
}

// Login runs a whole login with strategy as u and returns the callback's
// answer (normally 302 to return_to or signin_success).
func (br *Browser) Login(strategy string, u devidp.User, returnTo string) *Page {
	br.t.Helper()
	return br.Get(br.SignIn(br.StartLogin(strategy, returnTo), u))
}

// MustLogin is Login that fails the test unless the login succeeded.
func (br *Browser) MustLogin(strategy string, u devidp.User) {
	br.t.Helper()
	p := br.Login(strategy, u, "")
	if p.Status != http.StatusFound || p.Location != br.b.URL+"/app/" {
		br.t.Fatalf("login with %s: %d to %q, want 302 to /app/; body: %s", strategy, p.Status, p.Location, p.Body)
	}
}

// Session returns GET /auth/session's status and JSON.
func (br *Browser) Session() (int, map[string]any) {
	br.t.Helper()
	p := br.Do(http.MethodGet, "/auth/session", nil, nil)
	return p.Status, p.JSON()
}

// Verify returns GET /auth/verify's answer.
func (br *Browser) Verify() *Page {
	br.t.Helper()
	return br.Do(http.MethodGet, "/auth/verify", nil, nil)
}

// Cookie returns the jar's cookie of that name for the bench's URL, or "".
func (br *Browser) Cookie(name string) string {
	u, _ := url.Parse(br.b.URL)
	for _, c := range br.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie puts a cookie in the jar for the bench's URL.
func (br *Browser) SetCookie(name, value string) {
	u, _ := url.Parse(br.b.URL)
	br.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: true}})
}
