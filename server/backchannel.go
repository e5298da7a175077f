package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/authflow/authflow/engine"
)

// maxLogoutRequest bounds a back-channel logout request's body.
const maxLogoutRequest = 64 << 10

// Session index keys: the sets of session record ids by IdP session (the
// ID token's sid) and by user, per strategy. Values from the IdP are hashed
// so that keys stay short and plain.
func sidIndexKey(strategy, sid string) string { return "idx:sid:" + strategy + ":" + hashKey(sid) }
func subIndexKey(strategy, sub string) string { return "idx:sub:" + strategy + ":" + hashKey(sub) }
func jtiKey(strategy, jti string) string      { return "bcl-jti:" + strategy + ":" + hashKey(jti) }

func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// indexSession records a new session under its IdP session and user, so
// that a back-channel logout received by any instance finds it.
func (s *Server) indexSession(ctx context.Context, rec *record) error {
	if rec.IdPSID != "" {
		if err := s.cfg.Store.AddMember(ctx, sidIndexKey(rec.Strategy, rec.IdPSID), rec.ID, s.cfg.SessionLifetime); err != nil {
			return err
		}
	}
	if rec.Subject != "" {
		return s.cfg.Store.AddMember(ctx, subIndexKey(rec.Strategy, rec.Subject), rec.ID, s.cfg.SessionLifetime)
	}
	return nil
}

// unindexSession removes an ended session from the indexes (best effort: a
// stale member names a record that no longer exists, which is harmless).
func (s *Server) unindexSession(ctx context.Context, rec *record) {
	if rec.IdPSID != "" {
		s.cfg.Store.RemoveMember(ctx, sidIndexKey(rec.Strategy, rec.IdPSID), rec.ID)
	}
	if rec.Subject != "" {
		s.cfg.Store.RemoveMember(ctx, subIndexKey(rec.Strategy, rec.Subject), rec.ID)
	}
}

// backchannelLogout serves POST /auth/{strategy}/backchannel-logout (OpenID
// Connect Back-Channel Logout 1.0 §2.5–2.8): it verifies the logout_token,
// accepts its jti once, and ends the sessions it names — those whose login
// ID token carried its sid, or, with a sub alone, every session of that
// user in the strategy — on every instance sharing the Store. 200 when the
// token is valid (even if no session matched), 400 otherwise. Being
// server-to-server, it is exempt from the same-origin rule.
func (s *Server) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("strategy")
	st := s.Engine().Strategy(name)
	if st == nil || !st.BackchannelLogout() {
		http.NotFound(w, r)
		return
	}
	internal := func(err error) {
		ref := newRef()
		s.log.Error("back-channel logout", "strategy", name, "ref", ref, "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
	}
	refuse := func(cause error) {
		ref := newRef()
		s.log.Warn("back-channel logout refused", "strategy", name, "ref", ref, "outcome", "refused", "error", cause.Error())
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request",
			"error_description": "logout token refused (reference " + ref + ")"})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequest)
	if err := r.ParseForm(); err != nil {
		refuse(err)
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		refuse(errors.New("no logout_token in the form"))
		return
	}
	ctx := r.Context()
	lt, err := st.VerifyLogoutToken(ctx, raw)
	if err != nil {
		refuse(err)
		return
	}
	// Remember the jti as long as the token could be accepted: until exp,
	// or for the login timeout when it has none, plus the leeway.
	ttl := s.cfg.LoginTimeout
	if !lt.Expiry.IsZero() {
		ttl = lt.Expiry.Sub(s.cfg.Now())
	}
	ttl += time.Minute
	fresh, err := s.cfg.Store.SetNew(ctx, jtiKey(name, lt.ID), []byte("1"), ttl)
	if err != nil {
		internal(err)
		return
	}
	if !fresh {
		refuse(errors.New("logout token replayed (jti seen before)"))
		return
	}
	n, err := s.endSessionsOf(ctx, name, lt)
	if err != nil {
		internal(err)
		return
	}
	by := "sub"
	if lt.SessionID != "" {
		by = "sid"
	}
	s.log.Info("back-channel logout", "strategy", name, "outcome", "ok", "sessions", n, "by", by)
	w.WriteHeader(http.StatusOK)
}

// endSessionsOf deletes the session records a logout token names and
// returns how many it ended.
func (s *Server) endSessionsOf(ctx context.Context, strategy string, lt *engine.LogoutToken) (int, error) {
	key := subIndexKey(strategy, lt.Subject)
	if lt.SessionID != "" {
		key = sidIndexKey(strategy, lt.SessionID)
	}
	ids, err := s.cfg.Store.Members(ctx, key)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		rec, err := s.loadRecord(ctx, id)
		if errors.Is(err, errNoSession) {
			s.cfg.Store.RemoveMember(ctx, key, id)
			continue
		}
		if err != nil {
			return n, err
		}
		if rec.Strategy != strategy || (lt.Subject != "" && rec.Subject != lt.Subject) {
			continue // a sid with another user's sub: not this token's session
		}
		if err := s.cfg.Store.Delete(ctx, recordKey(id)); err != nil {
			return n, err
		}
		s.unindexSession(ctx, rec)
		n++
	}
	return n, nil
}
