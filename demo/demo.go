// Package demo is authflow's self-contained demonstration: a development
// OpenID provider (package devidp), two strategies pointing at it
// (strategies.json), authflow's routes, and a small application with a
// public home page and a protected page that shows the session's claims.
// The "demo" strategy also shows federated logout: sign-out continues at
// the IdP's end_session endpoint (logout_uri), which posts a back-channel
// logout token back to authflow before returning to the home page.
// Everything runs in one process on one address, with no external account:
// `authflow demo` and `make run` serve it.
//
//	/            the home page
//	/protected   behind server.Require: the signed-in user's claims and a sign-out button
//	/auth/...    authflow (chooser, login, callback, session, sign-out, verify)
//	/idp/...     the development IdP (issuer BASE/idp; login form with the demo users)
package demo

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/authflow/authflow"
	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
)

// StrategiesJSON is the demo's strategy file; {{ISSUER}} stands for the
// development IdP's issuer URL. It is the same JSON a team writes for its
// own IdP.
//
//go:embed strategies.json
var StrategiesJSON string

// Users are the demo accounts of the development IdP's login form.
var Users = []devidp.User{
	{ID: "demo-user-1", Username: "demo", Password: "demo", Email: "demo@example.test", EmailVerified: true,
		Name: "Dana Demo", Groups: []string{"demo", "admins"}},
	{ID: "demo-user-2", Username: "alice", Password: "alice", Email: "alice@example.test", EmailVerified: true,
		Name: "Alice Example", Groups: []string{"demo"}},
}

// Options configures a Demo.
type Options struct {
	// BaseURI is the URL the browser uses, e.g. http://127.0.0.1:8080.
	// Required.
	BaseURI string
	// Logger receives authflow's structured logs. Default slog.Default().
	Logger *slog.Logger
	// Store keeps sessions. Default: in memory.
	Store server.Store
	// HTTPClient makes the engine's calls to the IdP. Default: a plain
	// client.
	HTTPClient *http.Client
}

// Demo is the running demonstration, an http.Handler.
type Demo struct {
	// IdP is the development OpenID provider.
	IdP *devidp.Provider
	// Server is authflow's HTTP surface.
	Server *server.Server

	eng     *engine.Engine
	handler http.Handler
	pages   *template.Template
}

// New builds the demo for opts.BaseURI. Its cookies are not Secure when
// BaseURI is plain http (browsers would drop them otherwise).
func New(opts Options) (*Demo, error) {
	base := strings.TrimRight(opts.BaseURI, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("demo: base URI %q: want http(s)://HOST[:PORT]", opts.BaseURI)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	issuer := base + "/idp"
	secret := randomSecret()
	idp, err := devidp.New(devidp.Options{
		Issuer: issuer,
		Clients: []devidp.Client{
			{ID: "authflow-demo", Secret: secret, RedirectURIs: []string{base + "/auth/demo/callback"},
				PostLogoutRedirectURIs: []string{base + "/"},
				BackchannelLogoutURI:   base + "/auth/demo/backchannel-logout"},
			{ID: "authflow-demo-public", RedirectURIs: []string{base + "/auth/demo-spa/callback"}},
		},
		Users:     Users,
		ShowHints: true,
		// A demo reached over a LAN address is still a demo.
		AllowInsecureHTTP: true,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	set, err := strategies.Parse("demo/strategies.json", []byte(strings.ReplaceAll(StrategiesJSON, "{{ISSUER}}", issuer)))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	eng, err := engine.New(set, engine.Options{
		BaseURI:    base,
		HTTPClient: opts.HTTPClient,
		LookupEnv: func(name string) (string, bool) {
			if name == "DEMO_CLIENT_SECRET" {
				return secret, true
			}
			return "", false
		},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	srv, err := server.New(eng, server.Config{
		BaseURI:         base,
		SigninSuccess:   "/protected",
		SignoutSuccess:  "/",
		Store:           opts.Store,
		InsecureCookies: u.Scheme == "http",
		Logger:          opts.Logger,
	})
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	// The demo's own pages, and the partials they share with authflow's
	// (the "You are signed out" note).
	pages, err := template.New("").Funcs(template.FuncMap{
		"appName": func() string { return "" },
		"logoURL": func() template.URL { return "" },
	}).ParseFS(authflow.Templates, "templates/demo.html", "templates/layout.html")
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &Demo{IdP: idp, Server: srv, eng: eng, pages: pages}
	mux := http.NewServeMux()
	mux.Handle("/idp/", idp)
	mux.Handle("/auth/", srv)
	mux.Handle("/healthz", srv)
	mux.Handle("/", srv) // any other address: authflow's styled 404 page
	mux.Handle("GET /protected", srv.Require(http.HandlerFunc(d.protected)))
	mux.Handle("GET /{$}", srv.Optional(http.HandlerFunc(d.home)))
	d.handler = mux
	return d, nil
}

// ServeHTTP serves the demo.
func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.handler.ServeHTTP(w, r) }

// Close waits for the server's background work and stops the engine's.
func (d *Demo) Close() {
	d.Server.Close()
	d.eng.Close()
}

// home is the public home page; it tells a visitor without a session
// that they are signed out, as authflow's account page does.
func (d *Demo) home(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"SignedIn": false}
	if u, ok := server.UserFrom(r.Context()); ok {
		data["SignedIn"], data["Name"] = true, u.Email()
	}
	d.render(w, "demo_home", data)
}

// protected shows what authflow put in the request's context.
func (d *Demo) protected(w http.ResponseWriter, r *http.Request) {
	u, _ := server.UserFrom(r.Context())
	var raw map[string]any
	json.Unmarshal(u.Raw, &raw)
	pretty, _ := json.MarshalIndent(raw, "", "  ")
	d.render(w, "demo_protected", map[string]any{
		"Strategy": u.Strategy, "Subject": u.Subject, "Email": u.Email(), "Groups": u.Groups(),
		"Name": raw["name"], "Claims": string(pretty), "Expiry": u.AccessTokenExpiry,
	})
}

func (d *Demo) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if err := d.pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func randomSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
