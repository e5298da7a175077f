package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Session-ended events: every way a session ends is announced to
// Config.SignoutWebhook, so that the services that trust its identity (a
// token they were handed, a cache of their own) can deny it. Each POST is
// JSON {"event", "strategy", "sub", "sid", "time"}, signed when
// Config.SignoutWebhookSecret is set; delivery runs in the background,
// never delaying the request that ended the session.

// sessionEvent names how a session ended.
type sessionEvent string

// The session-ended events.
const (
	eventSignout           sessionEvent = "signout"
	eventBackchannelLogout sessionEvent = "backchannel_logout"
	eventRefreshFailed     sessionEvent = "refresh_failed"
	eventStrategyRemoved   sessionEvent = "strategy_removed"
)

// signatureHeader carries "t=UNIX,v1=HEX": HEX is the HMAC-SHA256, under
// the webhook secret, of "UNIX.BODY".
const signatureHeader = "Authflow-Signature"

// sid is the session's opaque id for services: stable for the session's
// life and the same on every instance, but neither the cookie nor the
// store key (it is derived from the key one way).
func (rec *record) sid() string {
	sum := sha256.Sum256([]byte("authflow sid\x00" + rec.ID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// announce sends ev about rec to the webhook, if one is set, in the
// background (Close waits for it).
func (s *Server) announce(ev sessionEvent, rec *record) {
	if s.cfg.SignoutWebhook == "" {
		return
	}
	body, _ := json.Marshal(struct {
		Event    sessionEvent `json:"event"`
		Strategy string       `json:"strategy"`
		Sub      string       `json:"sub"`
		SID      string       `json:"sid"`
		Time     string       `json:"time"`
	}{ev, rec.Strategy, rec.Subject, rec.sid(), s.cfg.Now().UTC().Format(time.RFC3339)})
	s.hooks.Add(1)
	go func() {
		defer s.hooks.Done()
		s.deliver(ev, body)
	}()
}

// deliver POSTs body to the webhook: up to WebhookAttempts tries, with
// backoff, on network errors and 5xx answers; each try signed anew.
func (s *Server) deliver(ev sessionEvent, body []byte) {
	wait := 200 * time.Millisecond
	var last error
	for attempt := 1; attempt <= s.cfg.WebhookAttempts; attempt++ {
		if attempt > 1 {
			time.Sleep(wait)
			wait *= 2
		}
		status, err := s.post(body)
		if err == nil && status < 500 {
			if status >= 300 {
				s.log.Warn("signout webhook refused", "event", ev, "status", status)
			}
			return
		}
		if err == nil {
			err = fmt.Errorf("HTTP %d", status)
		}
		last = err
	}
	s.log.Error("signout webhook failed", "event", ev, "attempts", s.cfg.WebhookAttempts, "error", last.Error())
}

// post makes one delivery and returns the answer's status.
func (s *Server) post(body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.SignoutWebhook, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.SignoutWebhookSecret != "" {
		req.Header.Set(signatureHeader, sign(s.cfg.SignoutWebhookSecret, s.cfg.Now(), body))
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text holds the webhook's URL, which may carry a secret
	}
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// sign returns the Authflow-Signature of body at t.
func sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
