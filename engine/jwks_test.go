package engine_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// loginOnce runs one login and returns its error.
func loginOnce(t *testing.T, p *idp, s *engine.Strategy) error {
	t.Helper()
	l, cb := p.begin(t, s)
	_, err := s.Exchange(t.Context(), l, cb)
	return err
}

// TestJWKSFetchedOnce: many logins share one fetch of the key set (and of
// the discovery document).
func TestJWKSFetchedOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, step    string
		wantDiscovery int64
	}{{"jwks_uri", jwtStepJWKS, 0}, {"discovery", jwtStepDiscovery, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			s := p.strategy(t, stratFile("", tokenStep(authPost), tt.step))
			for i := range 10 {
				if err := loginOnce(t, p, s); err != nil {
					t.Fatalf("login %d: %v", i, err)
				}
			}
			if d, j := p.discoveryHits.Load(), p.jwksHits.Load(); d != tt.wantDiscovery || j != 1 {
				t.Errorf("10 logins: discovery fetched %d times, JWKS %d; want %d and 1", d, j, tt.wantDiscovery)
			}
		})
	}
}

// TestJWKSRotation: a token signed with a key the cache does not know makes
// one refetch, which finds the rotated-in key; another unknown key inside
// JWKSUnknownKIDInterval makes none and fails.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS))
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login with rsa1: %v", err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}

	// The IdP publishes rsa2 and signs with it.
	p.update(func(c *idpConfig) {
		c.published = append(c.published, otherRSASigner("rsa2"))
		c.signWith = otherRSASigner("rsa2")
	})
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login with the rotated-in rsa2: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Errorf("after rotation JWKS fetched %d times, want 2", n)
	}

	// A kid the IdP never published, right after: no refetch.
	p.update(func(c *idpConfig) { c.signWith = otherRSASigner("rsa3") })
	err := loginOnce(t, p, s)
	if !errors.Is(err, engine.ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenUnverifiable) {
		t.Errorf("unknown kid: err = %v, want ErrInvalidToken and jwt.ErrTokenUnverifiable", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Errorf("a second unknown kid inside JWKSUnknownKIDInterval fetched the JWKS again (%d fetches, want 2)", n)
	}

	// Both known keys still work from the cache.
	for _, sg := range []signer{rsaSigner(), otherRSASigner("rsa2")} {
		p.update(func(c *idpConfig) { c.signWith = sg })
		if err := loginOnce(t, p, s); err != nil {
			t.Errorf("login with cached key %s: %v", sg.kid, err)
		}
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
}

// TestJWKSUnknownKIDAfterInterval: once JWKSUnknownKIDInterval has passed
// on the engine's clock, an unknown kid may refetch again; before, it may
// not.
func TestJWKSUnknownKIDAfterInterval(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS),
		func(o *engine.Options) { o.JWKSUnknownKIDInterval = 50 * time.Millisecond })
	p.update(func(c *idpConfig) { c.signWith = otherRSASigner("nope1") })
	if err := loginOnce(t, p, s); !errors.Is(err, engine.ErrInvalidToken) {
		t.Fatalf("unknown kid: err = %v, want ErrInvalidToken", err)
	}
	// The first fetch, then one refetch for the unknown kid.
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	p.update(func(c *idpConfig) {
		c.published = append(c.published, otherRSASigner("rsa9"))
		c.signWith = otherRSASigner("rsa9")
	})
	p.clock.Advance(49 * time.Millisecond)
	if err := loginOnce(t, p, s); !errors.Is(err, engine.ErrInvalidToken) {
		t.Fatalf("a key published inside the interval: err = %v, want ErrInvalidToken (no refetch yet)", err)
	}
	p.clock.Advance(time.Millisecond)
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login with a key published after the interval: %v", err)
	}
	if n := p.jwksHits.Load(); n != 3 {
		t.Errorf("JWKS fetched %d times, want 3", n)
	}
}

// TestJWKSDefaultUnknownKIDInterval: by default an unknown kid may refetch
// once per 5s.
func TestJWKSDefaultUnknownKIDInterval(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS))
	for i, step := range []struct {
		advance time.Duration
		want    int64
	}{{0, 2}, {4 * time.Second, 2}, {time.Second, 3}} {
		p.clock.Advance(step.advance)
		p.update(func(c *idpConfig) { c.signWith = otherRSASigner(fmt.Sprintf("nope%d", i)) })
		if err := loginOnce(t, p, s); !errors.Is(err, engine.ErrInvalidToken) {
			t.Fatalf("unknown kid %d: err = %v, want ErrInvalidToken", i, err)
		}
		if n := p.jwksHits.Load(); n != step.want {
			t.Errorf("unknown kid %d: JWKS fetched %d times, want %d", i, n, step.want)
		}
	}
}

// TestJWKSRefreshInBackground: a key set older than JWKSRefreshInterval
// keeps verifying while it is refetched in the background; a failed
// refresh keeps the old keys and is retried after the failure backoff.
func TestJWKSRefreshInBackground(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	j := &countingJWKS{}
	j.mount(p, "/refreshjwks")
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepAt("/refreshjwks")))
	if err := loginOnce(t, p, s); err != nil {
		t.Fatal(err)
	}
	j.status.Store(http.StatusBadGateway)
	p.clock.Advance(time.Hour)
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login with an old key set while the IdP is down: %v", err)
	}
	waitHits(t, &j.hits, 2)
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login after the failed refresh: %v", err)
	}
	if n := j.hits.Load(); n != 2 {
		t.Errorf("a login inside the failure backoff refetched: %d fetches, want 2", n)
	}
	j.status.Store(0)
	p.clock.Advance(5 * time.Second) // past the backoff
	if err := loginOnce(t, p, s); err != nil {
		t.Fatal(err)
	}
	waitHits(t, &j.hits, 3)
}

// waitHits waits until a background fetch has reached the JWKS, or fails.
func waitHits(t *testing.T, hits *atomic.Int64, want int64) {
	t.Helper()
	waitCount(t, "JWKS fetches (background refresh)", hits, want)
}

// waitCount polls until n reaches want, or fails after 10s.
func waitCount(t *testing.T, what string, n *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, n.Load(), want)
		}
		time.Sleep(time.Millisecond) // a poll on the condition, not a wait for time to pass
	}
}

// TestDiscoveryFailures: a discovery document or key set that cannot be
// used fails the jwt step. The failure is shared for a short backoff (a
// second login inside it makes no request), then the next login asks again.
func TestDiscoveryFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(p *idp) string // returns the jwt step
		check   func(t *testing.T, err error)
		refetch func(p *idp) int64 // hits that a retry must repeat
	}{
		{name: "issuer differs",
			setup: func(p *idp) string {
				p.update(func(c *idpConfig) { c.issuer = "https://other.example" })
				return jwtStepDiscovery
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, engine.ErrBadResponse) {
					t.Errorf("err = %v, want ErrBadResponse", err)
				}
			},
			refetch: func(p *idp) int64 { return p.discoveryHits.Load() }},
		{name: "no discovery document",
			setup: func(p *idp) string {
				p.handle("/nodisc/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
					p.discoveryHits.Add(1)
					http.NotFound(w, r)
				})
				return `{"name": "jwt", "decode": "${token.id_token}", "issuer": "{{IDP}}/nodisc"}`
			},
			check: func(t *testing.T, err error) {
				wantProviderError(t, err, engine.ProviderError{Step: "discovery", StatusCode: 404})
			},
			refetch: func(p *idp) int64 { return p.discoveryHits.Load() }},
		{name: "discovery is not JSON",
			setup: func(p *idp) string {
				p.handle("/html/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
					p.discoveryHits.Add(1)
					w.Header().Set("Content-Type", "text/html")
					w.Write([]byte("<html>maintenance</html>"))
				})
				return `{"name": "jwt", "decode": "${token.id_token}", "issuer": "{{IDP}}/html"}`
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, engine.ErrBadResponse) {
					t.Errorf("err = %v, want ErrBadResponse", err)
				}
			},
			refetch: func(p *idp) int64 { return p.discoveryHits.Load() }},
		{name: "JWKS unreachable",
			setup: func(p *idp) string {
				dead := httptest.NewServer(http.NotFoundHandler())
				dead.Close()
				return `{"name": "jwt", "decode": "${token.id_token}", "issuer": "{{IDP}}", "jwks_uri": "` + dead.URL + `/jwks"}`
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, engine.ErrUnreachable) {
					t.Errorf("err = %v, want ErrUnreachable", err)
				}
			}},
		{name: "JWKS answers 500",
			setup: func(p *idp) string {
				p.handle("/badjwks", func(w http.ResponseWriter, r *http.Request) {
					p.jwksHits.Add(1)
					http.Error(w, "oops", http.StatusInternalServerError)
				})
				return `{"name": "jwt", "decode": "${token.id_token}", "issuer": "{{IDP}}", "jwks_uri": "{{IDP}}/badjwks"}`
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, engine.ErrUnreachable) {
					t.Errorf("err = %v, want ErrUnreachable", err)
				}
			},
			refetch: func(p *idp) int64 { return p.jwksHits.Load() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			s := p.strategy(t, stratFile("", tokenStep(authPost), tt.setup(p)))
			for i, advance := range []time.Duration{0, 0, 5 * time.Second} {
				p.clock.Advance(advance)
				err := loginOnce(t, p, s)
				if err == nil {
					t.Fatalf("login %d succeeded", i)
				}
				wantStep(t, err, "jwt")
				tt.check(t, err)
			}
			if tt.refetch != nil {
				if n := tt.refetch(p); n != 2 {
					t.Errorf("three failed logins, the last after the backoff, made %d fetches, want 2", n)
				}
			}
		})
	}
}

// TestOnKeysFetch: every key-set fetch is reported, with its outcome.
func TestOnKeysFetch(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	type fetch struct {
		uri string
		ok  bool
	}
	var mu sync.Mutex
	var got []fetch
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS), func(o *engine.Options) {
		o.OnKeysFetch = func(uri string, err error) {
			mu.Lock()
			got = append(got, fetch{uri, err == nil})
			mu.Unlock()
		}
	})
	for range 3 {
		if err := loginOnce(t, p, s); err != nil {
			t.Fatal(err)
		}
	}
	// The IdP rotates to a new key: one more fetch, for the unknown kid.
	p.update(func(c *idpConfig) {
		c.published = append(c.published, otherRSASigner("rsa2"))
		c.signWith = otherRSASigner("rsa2")
	})
	if err := loginOnce(t, p, s); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []fetch{{p.URL + "/jwks", true}, {p.URL + "/jwks", true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("OnKeysFetch calls = %v, want %v", got, want)
	}
}
