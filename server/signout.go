package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
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
		if s.cfg.SignoutWebhook != "" {
			s.hooks.Add(1)
			go func() {
				defer s.hooks.Done()
				s.notify(rec)
			}()
		}
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

// notify POSTs the sign-out to the webhook: up to WebhookAttempts tries,
// with backoff, on network errors and 5xx answers.
func (s *Server) notify(rec *record) {
	body, _ := json.Marshal(map[string]string{
		"event": "signout", "strategy": rec.Strategy, "sub": rec.Subject,
		"time": s.cfg.Now().UTC().Format(time.RFC3339),
	})
	wait := 200 * time.Millisecond
	var last error
	for attempt := 1; attempt <= s.cfg.WebhookAttempts; attempt++ {
		if attempt > 1 {
			time.Sleep(wait)
			wait *= 2
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.SignoutWebhook, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.cfg.HTTPClient.Do(req)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the webhook's URL, which may carry a secret
		}
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				cancel()
				if resp.StatusCode >= 300 {
					s.log.Warn("signout webhook refused", "status", resp.StatusCode)
				}
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		cancel()
		last = err
	}
	s.log.Error("signout webhook failed", "attempts", s.cfg.WebhookAttempts, "error", last.Error())
}
