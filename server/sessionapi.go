package server

import (
	"errors"
	"net/http"
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
			s.sessionUnavailable(w, "session", err, false)
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no session"})
		return
	}
	u, err := rec.user()
	if err != nil {
		ref := newRef()
		s.log.Error("session", "ref", ref, "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "session unreadable", "ref": ref})
		return
	}
	out := map[string]any{"strategy": rec.Strategy, "user": u.view()}
	if !u.AccessTokenExpiry.IsZero() {
		out["access_token_expires_at"] = u.AccessTokenExpiry.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, out)
}
