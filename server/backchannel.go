package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/authflow/authflow/engine"
)

// maxLogoutRequest bounds a back-channel logout request's body.
const maxLogoutRequest = 64 << 10

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
	fresh, err := s.cfg.Store.SetNew(ctx, jtiKey(name, lt.ID), []byte("1"), s.jtiTTL(lt))
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

// jtiMargin is kept on top of a jti's acceptance window, for clock skew
// between the instances that share the Store.
const jtiMargin = time.Minute

// jtiTTL is how long to remember a logout token's jti: as long as the
// engine could accept the token again (its AcceptableUntil, at most
// iat + engine.LogoutTokenMaxAge + leeway), plus jtiMargin.
func (s *Server) jtiTTL(lt *engine.LogoutToken) time.Duration {
	return max(lt.AcceptableUntil.Sub(s.cfg.Now()), 0) + jtiMargin
}
