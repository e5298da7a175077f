package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Require serves next only to signed-in users, with the user in the
// request's context (UserFrom). It loads the session and refreshes the
// access token when due, like /auth/verify. Without a session, a browser
// navigating (GET, accepting HTML) is sent to /auth/login with return_to;
// any other request gets 401. When a strategy has "bearer", a request with
// Authorization: Bearer is judged by its token alone (cookie ignored, never
// redirected): 401 with WWW-Authenticate: Bearer error="invalid_token"
// for a bad token, else next with the token's user (User.Bearer).
func (s *Server) Require(next http.Handler) http.Handler {
	return s.RequireAllowed(Rules{}, next)
}

// RequireAllowed is Require for the users rules allow; a signed-in user
// they refuse gets 403 (an HTML page for a browser, JSON otherwise) and
// keeps the session.
func (s *Server) RequireAllowed(rules Rules, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header["Authorization"] != nil {
			eng := s.Engine()
			if raw, ok := s.bearerOf(r, eng); ok {
				s.requireBearer(w, r, eng, raw, rules, next) // bearer.go: the token alone decides
				return
			}
		}
		rec, err := s.current(w, r, false)
		var u *User
		if err == nil {
			u, err = rec.user()
		}
		browser := r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
		if err != nil && !sessionEnded(err) {
			s.sessionUnavailable(w, "require", err, browser)
			return
		}
		if err != nil {
			if browser {
				http.Redirect(w, r, "/auth/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign-in required"})
			return
		}
		if !rules.Allows(u) {
			if browser {
				s.accessDenied(w)
				return
			}
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "not allowed"})
			return
		}
		ctx := context.WithValue(r.Context(), userKey{}, u.clone())
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
