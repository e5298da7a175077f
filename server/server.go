package server

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
	"golang.org/x/sync/singleflight"
)

// Server serves authflow's routes for one engine. Create it with New; it is
// safe for concurrent use. Mount it at "/" or at "/auth/" and each
// strategy's redirect_path (and, with UpstreamJWT, /.well-known/jwks.json),
// and wrap application routes with Require.
type Server struct {
	cfg    Config
	log    *slog.Logger
	pages  *template.Template
	csp    []string // the pages' Content-Security-Policy
	origin string   // scheme://host[:port] of BaseURI

	// The Store's optional capabilities (nil when it lacks one).
	objects      ObjectStore
	stringGetter StringGetter
	headGetter   HeadGetter
	locker       Locker
	index        Indexer
	// ownStore is the memory store New made because Config had none;
	// Close closes it.
	ownStore *store.Memory

	sessionCookieName string
	upstream          *upstreamSigner // nil unless Config.UpstreamJWT.Enabled
	bearers           bearerAnswers   // bearer.go

	routes atomic.Pointer[routes] // swapped whole by SetEngine
	flight singleflight.Group     // one refresh per session in this process
	logins loginKeys              // seal and open login cookies
	hooks  sync.WaitGroup         // webhook deliveries in flight
}

// routes is the mux built for one engine: each strategy's callback sits at
// its own redirect_path.
type routes struct {
	eng *engine.Engine
	mux *http.ServeMux
}

// New returns a Server running eng's strategies.
func New(eng *engine.Engine, cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	imgSrc, err := imageSource(cfg.LogoURL)
	if err != nil {
		return nil, err
	}
	pages, err := loadPages(cfg.TemplatesDir, cfg.AppName, cfg.LogoURL)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.BaseURI)
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		pages:  pages,
		csp:    pageCSP(imgSrc),
		origin: u.Scheme + "://" + u.Host,
	}
	s.bearers.max = bearerCacheSize
	// __Host-: Secure, Path=/, no Domain.
	s.sessionCookieName = cookieName(cfg.CookieName, !cfg.InsecureCookies)
	if cfg.UpstreamJWT.Enabled {
		var ephemeral bool
		if s.upstream, ephemeral, err = newUpstreamSigner(&s.cfg); err != nil {
			return nil, err
		}
		s.upstream.extra = s.sessionUpstreamClaims // bearer.go
		if ephemeral {
			s.log.Warn("upstream_jwt: no signing key (upstream_jwt.key_file): signing with an ephemeral P-256 key made at start; every instance and every restart signs with a key of its own, published in /.well-known/jwks.json by the instances that share the session store (a replaced key for a day), and forgotten at a restart with the memory store",
				"kid", s.upstream.kid)
		}
	}
	if cfg.Store == nil {
		s.ownStore = store.NewMemory(store.MemoryOptions{Now: cfg.Now})
		s.cfg.Store = s.ownStore
	}
	if s.upstream != nil {
		if s.upstream.keys, err = newPublishedKeys(s.cfg.Store, s.cfg.Now, s.log, s.upstream.kid, s.upstream.jwk); err != nil {
			s.Close()
			return nil, err
		}
		// Record the key as in use now, so that the other instances
		// publish it before this one signs.
		s.hooks.Add(1)
		go func() {
			defer s.hooks.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.upstream.keys.document(ctx)
		}()
	}
	s.objects, _ = s.cfg.Store.(ObjectStore)
	s.stringGetter, _ = s.cfg.Store.(StringGetter)
	if s.objects == nil {
		s.headGetter, _ = s.cfg.Store.(HeadGetter)
	}
	s.locker, _ = s.cfg.Store.(Locker)
	s.index, _ = s.cfg.Store.(Indexer)
	if err := s.SetEngine(eng); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// SetEngine swaps in another engine (a reloaded strategies file). Logins
// in progress and sessions of strategies that still exist carry on.
func (s *Server) SetEngine(eng *engine.Engine) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /auth/login", s.chooser)
	mux.HandleFunc("GET /auth/{strategy}/login", s.startLogin)
	mux.HandleFunc("GET /auth/session", s.sessionJSON)
	mux.HandleFunc("POST /auth/refresh", s.forceRefresh)
	mux.HandleFunc("POST /auth/signout", s.signout)
	mux.HandleFunc("GET /auth/verify", s.verify)
	mux.HandleFunc("POST /auth/{strategy}/backchannel-logout", s.backchannelLogout)
	if s.upstream != nil {
		mux.HandleFunc("GET /auth/token", s.tokenJSON)
		mux.HandleFunc("GET /.well-known/jwks.json", s.jwksJSON)
	}
	s.pageRoutes(mux)
	for _, st := range eng.Strategies() {
		if st.BackchannelLogout() && s.index == nil {
			return fmt.Errorf("server: strategy %q: backchannel_logout needs a Store that indexes sessions (server.Indexer); %T does not", st.Name(), s.cfg.Store)
		}
		if !st.BrowserLogin() {
			continue // no callback: client_credentials, or a device login only
		}
		get, post := s.callback(st.Name()), http.HandlerFunc(nil)
		if st.FormPost() {
			get, post = s.getOnFormPost(st.Name()), s.formPostCallback(st.Name())
			if s.cfg.InsecureCookies {
				s.log.Warn("response_mode form_post with insecure cookies: the login cookie cannot be SameSite=None (browsers require Secure), so the IdP's cross-site POST will not carry it", "strategy", st.Name())
			}
		}
		err := handle(mux, "GET "+st.RedirectPath(), get)
		allow := "GET, HEAD"
		if err == nil && post != nil {
			err = handle(mux, "POST "+st.RedirectPath(), post)
			allow = "POST"
		}
		if err == nil { // any other method: the 405 page, not the catch-all 404
			err = handle(mux, st.RedirectPath(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.methodNotAllowed(w, r, allow) }))
		}
		if err != nil {
			return fmt.Errorf("server: strategy %q: redirect_path %q: %w", st.Name(), st.RedirectPath(), err)
		}
	}
	s.routes.Store(&routes{eng: eng, mux: mux})
	return nil
}

// handle registers a pattern, turning ServeMux's panic on a conflicting
// pattern into an error.
func handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("conflicts with another route: %v", r)
		}
	}()
	mux.HandleFunc(pattern, h)
	return nil
}

// Engine returns the engine in use.
func (s *Server) Engine() *engine.Engine { return s.routes.Load().eng }

// The headers of every answer; shared, read-only slices, so that setting
// them allocates nothing.
var (
	noStore    = []string{"no-store"}
	noReferrer = []string{"no-referrer"}
	noSniff    = []string{"nosniff"}
)

// ServeHTTP serves authflow's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Cache-Control"] = noStore
	h["Referrer-Policy"] = noReferrer // the callback URL holds the code
	h["X-Content-Type-Options"] = noSniff
	if r.URL.Path == "/auth/verify" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// The forward-auth check, asked on every request a proxy guards:
		// straight to its handler, which is what the ServeMux would find.
		s.verify(w, r)
		return
	}
	s.routes.Load().mux.ServeHTTP(w, r)
}

// Close waits for webhook deliveries in flight (each bounded by its
// attempts and timeouts) and stops the memory store New made when Config
// had no Store. A Store given in Config is the caller's to close.
func (s *Server) Close() {
	s.hooks.Wait()
	if s.ownStore != nil {
		s.ownStore.Close()
	}
}
