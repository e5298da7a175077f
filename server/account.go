package server

import (
	"context"
	"net/http"
	"strings"
)

// The account page and the pages for addresses authflow does not serve.
//
// GET / is the account page: who is signed in, until when, and a sign-out
// button; without a session, "You are signed out" and a sign-in link. It
// is there so that a standalone `authflow serve`, whose signin_success and
// signout_success default to "/", never lands a browser on a bare 404. It
// only answers requests that reach the Server: an application mounted in
// front of it keeps its own "/" (a reverse proxy that sends /auth/ to
// authflow and the rest to the application; a Go ServeMux, where the
// application's "/" or "GET /{$}" pattern is more specific than the
// Server's mount, or the Server mounted at /auth/ only).
//
// Any other address the Server does not serve gets the not_found page,
// 404, and a known address asked with the wrong method the error page,
// 405 with Allow: both HTML from templates/, under the pages' CSP, instead
// of net/http's plain text.

// methodRoutes are the fixed routes and the methods they answer, for the
// 405 page (a GET of /auth/signout is a link someone wrote).
var methodRoutes = []struct{ path, allow string }{
	{"/auth/signout", "POST"},
	{"/auth/refresh", "POST"},
	{"/auth/{strategy}/backchannel-logout", "POST"},
	{"/auth/login", "GET, HEAD"},
	{"/auth/session", "GET, HEAD"},
	{"/auth/verify", "GET, HEAD"},
}

// pageRoutes registers the account page, the 405 pages of methodRoutes and
// the not-found page for every other address.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.account)
	for _, m := range methodRoutes {
		allow := m.allow
		mux.HandleFunc(m.path, func(w http.ResponseWriter, r *http.Request) { s.methodNotAllowed(w, r, allow) })
	}
	mux.HandleFunc("/", s.notFound)
}

// account serves GET /: the account page.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	page := accountPage{SignOutURL: "/auth/signout", SignInURL: "/auth/login"}
	rec, err := s.current(w, r, false)
	if err != nil && !sessionEnded(err) {
		s.sessionUnavailable(w, "account", err, true)
		return
	}
	if err == nil {
		u, uerr := rec.user()
		if uerr != nil {
			s.sessionUnavailable(w, "account", uerr, true)
			return
		}
		page.SignedIn = true
		page.Subject = u.Subject
		page.Email = u.Email()
		page.Name = u.claim("name")
		if page.Name == "" {
			page.Name = page.Email
		}
		if page.Name == "" {
			page.Name = u.Subject
		}
		page.Strategy = rec.Strategy
		if st := s.Engine().Strategy(rec.Strategy); st != nil {
			page.Strategy = st.Label()
		}
		page.Expires = rec.Expires
		if s.cfg.IdleTimeout > 0 {
			if idle := rec.LastSeen.Add(s.cfg.IdleTimeout); idle.Before(page.Expires) {
				page.Expires = idle
			}
		}
	}
	s.render(w, http.StatusOK, "account", page)
}

// notFound answers an address the Server does not serve: the not_found
// page, or JSON for a client that asks for JSON and not HTML.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html") {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	page := notFoundPage{Title: "Page not found", Message: "There is nothing at this address:", Path: r.URL.Path}
	if len(page.Path) > 200 {
		page.Path = page.Path[:200] + "…"
	}
	s.render(w, http.StatusNotFound, "not_found", page)
}

// unknownStrategy answers /auth/{strategy}/login and a callback for a
// strategy the file does not define.
func (s *Server) unknownStrategy(w http.ResponseWriter, r *http.Request) {
	page := notFoundPage{Title: "Unknown sign-in method",
		Message: "This server has no sign-in method of that name. Choose one on the sign-in page."}
	s.render(w, http.StatusNotFound, "not_found", page)
}

// methodNotAllowed answers a fixed route asked with another method.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	f := failure{Title: "This address does not answer " + r.Method,
		Message: "Nothing to see here: this address is used by authflow's own pages.", Ref: newRef()}
	if allow == "POST" && r.URL.Path == "/auth/signout" {
		f.Title = "Sign out with the button"
		f.Message = "Signing out takes the sign-out button of the account page, so that another site cannot sign you out with a link."
		f.Retry = "/"
	}
	s.render(w, http.StatusMethodNotAllowed, "error", f)
}

// Optional serves next to every request, with the signed-in user in the
// request's context (UserFrom) when there is one: for pages that look
// different to signed-in users, such as a home page that says "You are
// signed out". Like Require it refreshes the access token when due; when
// the session cannot be read (the store is down) next is served without a
// user.
func (s *Server) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.current(w, r, false)
		if err == nil {
			if u, err := rec.user(); err == nil {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u.clone()))
			}
		} else if !sessionEnded(err) {
			s.log.Warn("session store", "during", "optional", "outcome", "error", "error", err.Error())
		}
		next.ServeHTTP(w, r)
	})
}

// shownReturnTo is return_to as the chooser shows it ("you will continue
// to …"): the checked path, cut at 120 bytes. html/template escapes it.
func shownReturnTo(rt string) string {
	if len(rt) > 120 {
		return rt[:120] + "…"
	}
	return rt
}
