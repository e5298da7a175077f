package server_test

// Refresh under attack and under trouble: short-lived tokens, absurd
// lifetimes, an IdP that is down for a moment, and a stolen cookie that
// hammers POST /auth/refresh.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/tidwall/gjson"
)

// withExpiresIn is a Tamper that rewrites expires_in in every token answer.
func withExpiresIn(v any) func(*http.Request, []byte) []byte {
	return func(req *http.Request, body []byte) []byte {
		if !strings.HasSuffix(req.URL.Path, "/token") || !gjson.GetBytes(body, "access_token").Exists() {
			return body
		}
		var doc map[string]any
		if json.Unmarshal(body, &doc) != nil {
			return body
		}
		doc["expires_in"] = v
		out, _ := json.Marshal(doc)
		return out
	}
}

// TestRefreshShortLivedTokens: a 5 s access token (shorter than the 30 s
// skew) is refreshed when half its life is gone, and no more often than
// the least refresh interval — not on every request. 20 verifies a second
// apart used to cause 20 refresh grants; 50 concurrent verifies just after
// expiry cause exactly one.
func TestRefreshShortLivedTokens(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Tamper: withExpiresIn(5)})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	for i := 0; i < 20; i++ {
		b.Clock.Advance(time.Second)
		if p := br.Verify(); p.Status != http.StatusOK {
			t.Fatalf("verify %d: %d", i, p.Status)
		}
	}
	// 20 s of a 5 s token: one refresh per 5 s at most (the least refresh
	// interval), at least one (it does refresh).
	if n := rsGrants(b); n < 1 || n > 4 {
		t.Errorf("20 verifies over 20 s of 5 s tokens caused %d refresh grants, want 1 to 4", n)
	}

	before := rsGrants(b)
	b.Clock.Advance(6 * time.Second) // the token has expired
	errs := rsRunConcurrently(50, func(int) error {
		if p := br.Verify(); p.Status != http.StatusOK {
			return fmt.Errorf("verify: %d", p.Status)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := rsGrants(b) - before; n != 1 {
		t.Errorf("50 concurrent verifies after expiry caused %d refresh grants, want 1", n)
	}
}

// TestRefreshLifetimeReadDefensively: an expires_in that does not fit a
// time.Duration used to overflow to a date in 1734 (and so refresh on every
// request); it is capped at ten years.
func TestRefreshLifetimeReadDefensively(t *testing.T) {
	t.Parallel()
	for _, v := range []any{9223372037, 1e300, "9223372037"} {
		t.Run(fmt.Sprintf("%T %v", v, v), func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{Tamper: withExpiresIn(v)})
			br := b.NewBrowser()
			br.MustLogin("dev", authtest.Ada())
			status, s := br.Session()
			if status != http.StatusOK {
				t.Fatalf("session: %d", status)
			}
			exp, err := time.Parse(time.RFC3339, fmt.Sprint(s["access_token_expires_at"]))
			if err != nil {
				t.Fatalf("access_token_expires_at %v: %v", s["access_token_expires_at"], err)
			}
			now := b.Clock.Now()
			if exp.Before(now) || exp.After(now.AddDate(10, 0, 1)) {
				t.Errorf("expires_in %v: access token expires at %v, want within ten years of %v", v, exp, now)
			}
			for i := 0; i < 3; i++ {
				br.Verify()
			}
			if n := rsGrants(b); n != 0 {
				t.Errorf("%d refresh grants for a token that lives for years", n)
			}
		})
	}
}

// outage answers the refresh grants in the IdP's place while it is set:
// with a network error, or with an HTTP status.
type outage struct {
	mode atomic.Value // "", "network", "503", "429", "400"
	hits atomic.Int64
}

func (o *outage) intercept(req *http.Request) (*http.Response, error) {
	mode, _ := o.mode.Load().(string)
	if mode == "" || !isRefreshGrant(req) {
		return nil, nil
	}
	o.hits.Add(1)
	answer := func(status int, body string) (*http.Response, error) {
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Request: req,
			Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
			Body:   io.NopCloser(bytes.NewReader([]byte(body)))}, nil
	}
	switch mode {
	case "network":
		return nil, errors.New("dial tcp: connection refused")
	case "503":
		return answer(http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)
	case "429":
		return answer(http.StatusTooManyRequests, `{"error":"slow_down"}`)
	default:
		return answer(http.StatusBadRequest, `{"error":"invalid_grant","error_description":"refresh token revoked"}`)
	}
}

// TestRefreshTransientFailureKeepsSession: a network error, a 503 or a 429
// from the token endpoint used to end the session. Now the session stays
// (with its stale access token), the next attempt waits for a backoff, and
// once the IdP is back a later request refreshes. Only a definitive
// refusal (invalid_grant, another 4xx) ends the session.
func TestRefreshTransientFailureKeepsSession(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"network", "503", "429"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			o := &outage{}
			b := authtest.New(t, authtest.Options{Intercept: o.intercept})
			br := b.NewBrowser()
			br.MustLogin("dev", authtest.Ada())
			o.mode.Store(mode)
			b.Clock.Advance(6 * time.Minute)
			for i := 0; i < 5; i++ {
				if p := br.Verify(); p.Status != http.StatusOK {
					t.Fatalf("verify %d during a %s outage: %d, want 200 (the session stays)", i, mode, p.Status)
				}
			}
			if n := o.hits.Load(); n != 1 {
				t.Errorf("5 verifies in the outage made %d refresh attempts, want 1 (then back off)", n)
			}
			o.mode.Store("")
			b.Clock.Advance(time.Minute) // past the backoff
			if p := br.Verify(); p.Status != http.StatusOK {
				t.Fatalf("verify after the outage: %d", p.Status)
			}
			if n := rsGrants(b); n != 1 {
				t.Errorf("after the outage: %d refresh grants at the IdP, want 1", n)
			}
			if _, s := br.Session(); s["access_token_expires_at"] == nil {
				t.Errorf("session after the outage: %v", s)
			}
		})
	}
	t.Run("invalid_grant ends the session", func(t *testing.T) {
		t.Parallel()
		o := &outage{}
		b := authtest.New(t, authtest.Options{Intercept: o.intercept})
		br := b.NewBrowser()
		br.MustLogin("dev", authtest.Ada())
		o.mode.Store("400")
		b.Clock.Advance(6 * time.Minute)
		if p := br.Verify(); p.Status != http.StatusUnauthorized {
			t.Fatalf("verify after invalid_grant: %d, want 401", p.Status)
		}
	})
}

// TestForcedRefreshRateLimited: a stolen cookie used to drive one IdP
// refresh grant per POST /auth/refresh (200 in 348 ms). At most one
// refresh per session per short interval now reaches the IdP; the others
// are answered 429 with Retry-After, and the session stays.
func TestForcedRefreshRateLimited(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	ok, limited := 0, 0
	for i := 0; i < 200; i++ {
		p := br.Post("/auth/refresh")
		switch p.Status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if p.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After")
			}
		default:
			t.Fatalf("refresh %d: %d %s", i, p.Status, p.Body)
		}
	}
	if n := rsGrants(b); n != 1 || ok != 1 || limited != 199 {
		t.Errorf("200 forced refreshes: %d grants at the IdP, %d answered 200, %d answered 429; want 1, 1, 199", n, ok, limited)
	}
	errs := rsRunConcurrently(50, func(int) error { br.Post("/auth/refresh"); return nil })
	_ = errs
	if n := rsGrants(b); n != 1 {
		t.Errorf("50 concurrent forced refreshes in the same interval: %d grants in all, want 1", n)
	}
	b.Clock.Advance(time.Minute)
	if p := br.Post("/auth/refresh"); p.Status != http.StatusOK {
		t.Errorf("forced refresh after the interval: %d, want 200", p.Status)
	}
	if n := rsGrants(b); n != 2 {
		t.Errorf("%d grants after the interval, want 2", n)
	}
	if status, _ := br.Session(); status != http.StatusOK {
		t.Errorf("session after the flood: %d", status)
	}
}
