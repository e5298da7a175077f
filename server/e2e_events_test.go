package server_test

// Session-ended events: every way a session ends is announced to the
// webhook, signed, so that services trusting the session's identity can
// deny it.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
)

const evSecret = "whsec-test-3f8a"

// evReceiver collects the webhook's events, checking each signature.
type evReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []map[string]any
	got    chan struct{}
}

func newEvReceiver(t *testing.T) (*evReceiver, string) {
	r := &evReceiver{t: t, got: make(chan struct{}, 16)}
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	return r, hs.URL + "/events"
}

func (r *evReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	sig := req.Header.Get("Authflow-Signature")
	ts, mac, ok := parseSignature(sig)
	want := hmac.New(sha256.New, []byte(evSecret))
	want.Write([]byte(ts + "." + string(body)))
	if !ok || !hmac.Equal(mac, want.Sum(nil)) {
		r.t.Errorf("event %s: Authflow-Signature %q does not verify", body, sig)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("event %s: %v", body, err)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	r.got <- struct{}{}
}

// parseSignature splits "t=UNIX,v1=HEX".
func parseSignature(h string) (ts string, mac []byte, ok bool) {
	for _, part := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			mac, _ = hex.DecodeString(v)
		}
	}
	_, err := strconv.ParseInt(ts, 10, 64)
	return ts, mac, err == nil && len(mac) == sha256.Size
}

// next waits for the next event.
func (r *evReceiver) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no event reached the webhook")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

// TestSessionEndedEvents: sign-out, back-channel logout, a refused refresh
// and a strategy removed by reload each POST one signed event naming the
// strategy, the user and the session's opaque sid (never the cookie).
func TestSessionEndedEvents(t *testing.T) {
	t.Parallel()
	recv, hook := newEvReceiver(t)
	o := &outage{}
	b := authtest.New(t, authtest.Options{Intercept: o.intercept, Config: func(c *server.Config) {
		c.SignoutWebhook = hook
		c.SignoutWebhookSecret = evSecret
	}})
	check := func(ev map[string]any, event string, cookie string) {
		t.Helper()
		if ev["event"] != event || ev["strategy"] != "dev" || ev["sub"] != authtest.Ada().ID {
			t.Errorf("event %v, want %s for dev/%s", ev, event, authtest.Ada().ID)
		}
		sid, _ := ev["sid"].(string)
		if len(sid) < 16 || strings.Contains(cookie, sid) || strings.Contains(sid, cookie) {
			t.Errorf("event %s: sid %q, want an opaque id that is not the cookie", event, sid)
		}
		if _, err := time.Parse(time.RFC3339, ev["time"].(string)); err != nil {
			t.Errorf("event %s: time %v", event, ev["time"])
		}
	}

	t.Run("signout", func(t *testing.T) {
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		cookie := br.Cookie(rsCookieName)
		if p := br.Post("/auth/signout"); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", p.Status)
		}
		check(recv.next(t), "signout", cookie)
	})
	t.Run("backchannel_logout", func(t *testing.T) {
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		cookie := br.Cookie(rsCookieName)
		claims := logoutClaims(b, authtest.Ada().ID, "")
		now := b.Clock.Now()
		claims["iat"], claims["exp"] = now.Unix(), now.Add(2*time.Minute).Unix()
		raw, err := b.IdP.SignJWT(nil, claims)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := postLogout(t, b, "", url.Values{"logout_token": {raw}}); status != http.StatusOK {
			t.Fatalf("back-channel logout: %d %s", status, body)
		}
		check(recv.next(t), "backchannel_logout", cookie)
	})
	t.Run("refresh_failed", func(t *testing.T) {
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		cookie := br.Cookie(rsCookieName)
		o.mode.Store("400") // invalid_grant
		defer o.mode.Store("")
		b.Clock.Advance(6 * time.Minute)
		if p := br.Verify(); p.Status != http.StatusUnauthorized {
			t.Fatalf("verify after invalid_grant: %d", p.Status)
		}
		check(recv.next(t), "refresh_failed", cookie)
	})
	t.Run("strategy_removed", func(t *testing.T) {
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		cookie := br.Cookie(rsCookieName)
		// The reload keeps only devpost and devpublic.
		var file map[string]map[string]json.RawMessage
		if err := json.Unmarshal([]byte(authtest.DefaultStrategies), &file); err != nil {
			t.Fatal(err)
		}
		delete(file["strategies"], "dev")
		reloaded, _ := json.Marshal(file)
		if err := b.App().Server.SetEngine(b.NewEngine(t, string(reloaded), nil)); err != nil {
			t.Fatal(err)
		}
		if p := br.Verify(); p.Status != http.StatusUnauthorized {
			t.Fatalf("verify after the reload: %d", p.Status)
		}
		check(recv.next(t), "strategy_removed", cookie)
	})
}
