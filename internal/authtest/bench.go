package authtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/strategies"
)

// Options configures a Bench. The zero value is one authflow server with a
// memory store in front of an RS256 IdP, serving DefaultStrategies.
type Options struct {
	// Algorithm signs the IdP's ID tokens: RS256 (default) or ES256.
	Algorithm string
	// Instances is the number of authflow servers; more than one puts them
	// behind a load balancer (Bench.Route picks the one serving next) and
	// needs NewStore to return stores that share state.
	Instances int
	// NewStore returns instance i's store. Default: one memory store on the
	// Bench's Clock for all.
	NewStore func(t testing.TB, i int) server.Store
	// Strategies is the strategy file, {{IDP}} standing for the IdP's URL.
	// Default DefaultStrategies.
	Strategies string
	// Tamper, when set, may rewrite each IdP answer's body on its way to the
	// engine (a man in the middle on the back channel).
	Tamper func(req *http.Request, body []byte) []byte
	// Intercept, when set, may answer an engine's request in the IdP's
	// place: a non-nil answer or error is returned instead of the IdP's (an
	// outage, a 503, a 429).
	Intercept func(req *http.Request) (*http.Response, error)
	// Config adjusts each server's Config before server.New.
	Config func(*server.Config)
	// AccessTokenJWT makes the IdP issue JWT access tokens to every client
	// (devidp.Client.AccessTokenJWT); default opaque ones.
	AccessTokenJWT bool
	// Handler mounts each server. Default AppHandler; server.Server itself
	// as the whole site, as `authflow serve` runs it.
	Handler func(*server.Server) http.Handler
}

// Bench is a running test bench: an IdP, the authflow servers in front of
// it, and what the test observes them with. Everything stops when the test
// ends.
type Bench struct {
	// IdP is the OpenID provider; IdPURL its issuer.
	IdP    *devidp.Provider
	IdPURL string
	// URL is the origin browsers use: the one server's, or the load
	// balancer's. Always https.
	URL string
	// Apps are the authflow servers.
	Apps []*App
	// Clock is the engines', servers' and memory store's clock. The IdP
	// keeps real time: moving the clock forward makes authflow see its
	// access tokens expire without the IdP noticing.
	Clock *Clock
	// Logs holds every server's JSON log, at level debug.
	Logs *LogBuffer
	// Tokens is the engines' transport, which records the secrets.
	Tokens *TokenRecorder

	t      testing.TB
	front  *httptest.Server // TLS: the app itself or the load balancer
	route  atomic.Int32     // the instance the load balancer uses next
	client *http.Client     // trusts front's certificate
}

// App is one authflow server of a Bench.
type App struct {
	Server *server.Server
	Engine *engine.Engine
	Store  server.Store
	// URL is its own address: behind the load balancer, plain http; "" for
	// a single instance (use Bench.URL).
	URL string
}

// New starts an IdP and the authflow servers in front of it; they stop
// when the test ends.
func New(t testing.TB, o Options) *Bench {
	t.Helper()
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.Strategies == "" {
		o.Strategies = DefaultStrategies
	}
	b := &Bench{t: t, Clock: NewClock(time.Now()), Logs: &LogBuffer{}}

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
	clients := []devidp.Client{
		{ID: BasicClient, Secret: BasicSecret, AuthMethod: "client_secret_basic",
			RedirectURIs:           []string{b.URL + "/auth/dev/callback"},
			PostLogoutRedirectURIs: []string{b.URL + "/signed-out"},
			BackchannelLogoutURI:   b.URL + "/auth/dev/backchannel-logout"},
		{ID: PostClient, Secret: PostSecret, AuthMethod: "client_secret_post",
			RedirectURIs: []string{b.URL + "/auth/devpost/callback"}},
		{ID: PublicClient, RedirectURIs: []string{b.URL + "/auth/devpublic/callback"}},
	}
	for i := range clients {
		clients[i].AccessTokenJWT = o.AccessTokenJWT
	}
	idp, err := devidp.New(devidp.Options{
		Issuer:            b.IdPURL,
		Algorithm:         o.Algorithm,
		BackchannelClient: backchannel,
		Clients:           clients,
		Users:             []devidp.User{Ada(), Bob(), Eve()},
	})
	if err != nil {
		idpSrv.Close()
		b.front.Close()
		t.Fatal(err)
	}
	b.IdP = idp
	idpSrv.Config.Handler = idp
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)
	t.Cleanup(b.front.Close) // started below; Close also releases an unstarted listener

	b.Tokens = &TokenRecorder{Next: http.DefaultTransport, Tamper: o.Tamper, Intercept: o.Intercept}
	b.Tokens.Add(BasicSecret, PostSecret)
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
			Logger:         b.Logs.Logger(),
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

	if o.Handler == nil {
		o.Handler = AppHandler
	}
	if o.Instances == 1 {
		b.front.Config.Handler = o.Handler(b.Apps[0].Server)
	} else {
		for _, a := range b.Apps {
			hs := httptest.NewServer(o.Handler(a.Server))
			t.Cleanup(hs.Close)
			a.URL = hs.URL
		}
		b.front.Config.Handler = b.loadBalancer()
	}
	b.front.StartTLS()
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
// transport, the bench's clock and base URI, and the kit's environment.
func (b *Bench) engineOptions() engine.Options {
	return engine.Options{
		HTTPClient: &http.Client{Transport: b.Tokens},
		BaseURI:    b.URL,
		Now:        b.Clock.Now,
		LookupEnv:  lookupEnv,
	}
}

// NewEngine compiles a strategy file ({{IDP}} standing for the IdP's URL)
// the way the bench does, with mod (if not nil) changing the options; the
// engine closes when the test ends. For reloads (Server.SetEngine).
func (b *Bench) NewEngine(t testing.TB, file string, mod func(*engine.Options)) *engine.Engine {
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

// AppHandler mounts a Server the way an embedding Go application does, as
// a Bench serves it:
//
//	/auth/, /healthz   authflow's routes
//	/app/              behind Require: JSON with the path and the user found
//	                   in the request's context (sub, strategy, email, groups)
//	/admin/            behind RequireAllowed (group admins, email at
//	                   example.test): "admin area"
//	/signed-out        "signed out", the SignoutSuccess page
func AppHandler(s *server.Server) http.Handler {
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

// Client returns an HTTP client that trusts the bench's TLS certificate,
// with no cookie jar; it follows redirects.
func (b *Bench) Client() *http.Client { return b.client }

// NewBrowser returns a browser with an empty cookie jar on the bench's URL,
// signing in at its IdP; a login without return_to lands on /app/. It
// fails the test that made the bench: a parallel subtest sharing the bench
// makes its own with BrowserFor.
func (b *Bench) NewBrowser() *Browser { return b.BrowserFor(b.t) }

// BrowserFor is NewBrowser failing t instead.
func (b *Bench) BrowserFor(t testing.TB) *Browser {
	return NewBrowser(t, b.URL, BrowserOptions{Transport: b.client.Transport, IdP: b.IdP, Home: "/app/"})
}

// AssertNoSecrets fails the test when text holds a secret the bench's
// TokenRecorder saw (see TokenRecorder.AssertNoSecrets).
func (b *Bench) AssertNoSecrets(what, text string) {
	b.t.Helper()
	b.Tokens.AssertNoSecrets(b.t, what, text)
}
