package server

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/authflow/authflow"
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
	origin string // scheme://host[:port] of BaseURI

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
	pages, err := template.ParseFS(authflow.Templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("server: templates: %w", err)
	}
	u, _ := url.Parse(cfg.BaseURI)
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		pages:  pages,
		origin: u.Scheme + "://" + u.Host,
	}
	// __Host-: Secure, Path=/, no Domain.
	s.sessionCookieName = cookieName(cfg.CookieName, !cfg.InsecureCookies)
	if cfg.UpstreamJWT.Enabled {
		var ephemeral bool
		if s.upstream, ephemeral, err = newUpstreamSigner(&s.cfg); err != nil {
			return nil, err
		}
		if ephemeral {
			s.log.Warn("upstream_jwt: no signing key (upstream_jwt.key_file): signing with an ephemeral P-256 key made at start; other instances do not share it and a restart replaces it, so services will refuse tokens another instance signed",
				"kid", s.upstream.kid)
		}
	}
	if cfg.Store == nil {
		s.ownStore = store.NewMemory(store.MemoryOptions{Now: cfg.Now})
		s.cfg.Store = s.ownStore
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
	for _, st := range eng.Strategies() {
		if st.BackchannelLogout() && s.index == nil {
			return fmt.Errorf("server: strategy %q: backchannel_logout needs a Store that indexes sessions (server.Indexer); %T does not", st.Name(), s.cfg.Store)
		}
		if err := handle(mux, "GET "+st.RedirectPath(), s.callback(st.Name())); err != nil {
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
