package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// sessionJSON serves GET /auth/session.
func (s *Server) sessionJSON(w http.ResponseWriter, r *http.Request) {
	rec, err := s.current(w, r, false)
	s.answerSession(w, rec, err)
}

// forceRefresh serves POST /auth/refresh.
func (s *Server) forceRefresh(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-site request refused"})
		return
	}
	rec, err := s.current(w, r, true)
	s.answerSession(w, rec, err)
}

func (s *Server) answerSession(w http.ResponseWriter, rec *record, err error) {
	if errors.Is(err, errCannotRefresh) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	var soon *refreshTooSoonError
	if errors.As(err, &soon) {
		w.Header().Set("Retry-After", strconv.Itoa(int(soon.retryAfter.Seconds()+0.999)))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": soon.Error()})
		return
	}
	if errors.Is(err, errRefreshUnavailable) {
		ref := newRef()
		s.log.Warn("forced refresh unavailable", "ref", ref, "error", err.Error())
		w.Header().Set("Retry-After", strconv.Itoa(int(refreshBackoffFirst/time.Second)))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": errRefreshUnavailable.Error(), "ref": ref})
		return
	}
	if err != nil {
		if !sessionEnded(err) {
			ref := newRef()
			s.log.Error("session", "ref", ref, "error", err.Error())
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "refresh failed", "ref": ref})
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no session"})
		return
	}
	u := rec.user()
	out := map[string]any{"strategy": rec.Strategy, "user": u.view()}
	if !rec.Tokens.Expiry.IsZero() {
		out["access_token_expires_at"] = rec.Tokens.Expiry.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, out)
}

// verify serves GET /auth/verify, the forward-auth check: 200 and the
// X-Auth-* headers for a live session, 401 otherwise. With ?redirect=true
// (for Traefik and Caddy, which pass the auth answer to the browser) a
// request without a session is instead redirected to the login, returning
// to the X-Forwarded-Uri the proxy sends. nginx's auth_request accepts only
// 2xx, 401 and 403, so it uses the plain form and an error_page.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	if r.URL.RawQuery != "" { // the common case, a bare check, parses nothing
		q = r.URL.Query()
	}
	redirect := q.Get("redirect") == "true"
	rec, err := s.current(w, r, false)
	if err != nil {
		if !sessionEnded(err) {
			s.log.Error("verify", "error", err.Error())
			s.cfg.Observer.Verify("error")
		} else {
			s.cfg.Observer.Verify("unauthenticated")
		}
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
	u := rec.user()
	if q != nil && !RulesFromQuery(q).Allows(u) {
		// Signed in, but not allowed here: 403, and the session stays.
		s.cfg.Observer.Verify("forbidden")
		s.log.Info("verify", "outcome", "forbidden", "strategy", u.Strategy)
		if redirect {
			s.accessDenied(w)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	for k, v := range rec.identityHeaders() {
		h[k] = v // shared, read-only: made once per stored identity
	}
	s.cfg.Observer.Verify("ok")
	w.WriteHeader(http.StatusOK)
}

// sessionEnded reports whether err means "no live session" (none, or it
// just ended) rather than a failure to look.
func sessionEnded(err error) bool {
	return errors.Is(err, errNoSession) || errors.Is(err, errRefreshFailed)
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
