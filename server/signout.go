package server

import (
	"net/http"
	"strings"
)

// signout serves POST /auth/signout: revoke the tokens (the revoke step,
// when the strategy has one), end the session, notify the webhook, and
// redirect to SignoutSuccess. Only same-origin requests are served.
func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		ref := newRef()
		s.log.Warn("sign-out refused: cross-site request", "ref", ref, "origin", r.Header.Get("Origin"))
		s.render(w, http.StatusForbidden, "error", failure{Title: "Sign-out refused",
			Message: "This sign-out request did not come from this site.", Ref: ref})
		return
	}
	ctx := r.Context()
	rec := s.endSession(w, r)
	dest := s.cfg.SignoutSuccess
	if rec != nil {
		toks, terr := rec.tokens()
		if terr != nil {
			s.log.Warn("revoke failed", "strategy", rec.Strategy, "error", terr.Error())
		} else if st := s.Engine().Strategy(rec.Strategy); st != nil {
			if err := st.Revoke(ctx, toks); err != nil {
				s.log.Warn("revoke failed", "strategy", rec.Strategy, "error", err.Error())
			}
			// RP-initiated logout: the IdP ends its own session, then sends
			// the browser to signout_success.
			if u, err := st.LogoutURL(toks.IDToken, s.absolute(s.cfg.SignoutSuccess)); err != nil {
				s.log.Warn("logout_uri", "strategy", rec.Strategy, "error", err.Error())
			} else if u != "" {
				dest = u
			}
		}
		s.log.Info("signed out", "strategy", rec.Strategy)
		s.announce(eventSignout, rec)
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// absolute makes a path on this server an absolute URL, for the IdP.
func (s *Server) absolute(p string) string {
	if strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") {
		return s.cfg.BaseURI + p
	}
	return p
}
