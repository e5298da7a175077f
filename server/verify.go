package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// verify serves GET /auth/verify, the forward-auth check: 200 and the
// X-Auth-* headers for a live session, 401 otherwise. With ?redirect=true
// (for Traefik and Caddy, which pass the auth answer to the browser) a
// request without a session is instead redirected to the login, returning
// to the X-Forwarded-Uri the proxy sends. nginx's auth_request accepts only
// 2xx, 401 and 403, so it uses the plain form and an error_page.
// ServeHTTP calls it directly, ahead of the ServeMux.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	if r.URL.RawQuery != "" { // the common case, a bare check, parses nothing
		q = r.URL.Query()
	}
	if r.Header["Authorization"] != nil {
		eng := s.Engine()
		if raw, ok := s.bearerOf(r, eng); ok {
			s.verifyBearer(w, r, eng, raw, q) // bearer.go: the token alone decides
			return
		}
	}
	redirect := q.Get("redirect") == "true"
	rec, err := s.currentHead(w, r)
	if err != nil && !sessionEnded(err) {
		// The session could not be read (the store is down): not signed
		// out, so no 401 that would send everyone to the login.
		s.cfg.Observer.Verify(OutcomeError)
		s.sessionUnavailable(w, "verify", err, redirect)
		return
	}
	if err != nil {
		s.cfg.Observer.Verify(OutcomeUnauthenticated)
		if redirect {
			login := s.cfg.BaseURI + "/auth/login"
			orig := r.Header.Get("X-Forwarded-Uri")
			if orig == "" {
				orig = r.Header.Get("X-Original-Uri")
			}
			if rt := s.returnTo(orig); rt != "" {
				login += "?return_to=" + url.QueryEscape(rt)
			}
			http.Redirect(w, r, login, http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if q != nil && !RulesFromQuery(q).allows(rec.ident) {
		// Signed in, but not allowed here: 403, and the session stays.
		s.cfg.Observer.Verify(OutcomeForbidden)
		s.log.Info("verify", "outcome", "forbidden", "strategy", rec.Strategy)
		if redirect {
			s.accessDenied(w)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		return
	}
	rec.ident.setHeaders(w.Header()) // read from the record's head: the body stays undecoded
	if s.upstream != nil && !s.setUpstreamToken(w, rec, redirect) {
		return
	}
	s.cfg.Observer.Verify(OutcomeOK)
	w.WriteHeader(http.StatusOK)
}

// sessionEnded reports whether err means "no live session" (none, or it
// just ended) rather than a failure to look.
func sessionEnded(err error) bool {
	return errors.Is(err, errNoSession) || errors.Is(err, errRefreshFailed)
}

// sessionUnavailable answers a request whose session could not be read
// (the store failed): 500, as an HTML page when page is set, else JSON,
// with a reference whose log line holds the cause.
func (s *Server) sessionUnavailable(w http.ResponseWriter, what string, err error, page bool) {
	ref := newRef()
	s.log.Error("session store", "ref", ref, "during", what, "outcome", "error", "error", err.Error())
	if page {
		s.render(w, http.StatusInternalServerError, "error", failure{Title: "Something went wrong",
			Message: "The session service is not available. Please try again in a moment.", Ref: ref})
		return
	}
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "session service unavailable", "ref": ref})
}

// accessDenied is the page for a signed-in user an allow-list refuses.
func (s *Server) accessDenied(w http.ResponseWriter) {
	s.render(w, http.StatusForbidden, "error", failure{Title: "Access denied",
		Message: "You are signed in, but your account is not allowed to use this page.", Ref: newRef()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
