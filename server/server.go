package server

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/alexedwards/scs/v2"
	"github.com/authflow/authflow"
	"github.com/authflow/authflow/engine"
	"golang.org/x/sync/singleflight"
)

// Server serves authflow's routes for one engine. Create it with New; it is
// safe for concurrent use. Mount it at "/" or at "/auth/" and each
// strategy's redirect_path, and wrap application routes with Require.
type Server struct {
	cfg      Config
	log      *slog.Logger
	sessions *scs.SessionManager
	pages    *template.Template
	origin   string // scheme://host[:port] of BaseURI

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
	sm := scs.New()
	sm.Store = cfg.Store.Sessions()
	sm.Codec = jsonCodec{}
	sm.Lifetime = cfg.SessionLifetime
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Cookie.Name = cookieName(cfg.CookieName, !cfg.InsecureCookies) // __Host-: Secure, Path=/, no Domain
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = !cfg.InsecureCookies
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		ref := newRef()
		s.log.Error("session store", "ref", ref, "path", r.URL.Path, "error", err.Error())
		s.render(w, http.StatusInternalServerError, "error", failure{Title: "Something went wrong",
			Message: "The session service is not available. Please try again in a moment.", Ref: ref})
	}
	s.sessions = sm
	if err := s.SetEngine(eng); err != nil {
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
	for _, st := range eng.Strategies() {
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

// ServeHTTP serves authflow's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the callback URL holds the code
	h.Set("X-Content-Type-Options", "nosniff")
	s.sessions.LoadAndSave(s.routes.Load().mux).ServeHTTP(w, r)
}

// Close waits for webhook deliveries in flight. It does not close the Store.
func (s *Server) Close() { s.hooks.Wait() }
