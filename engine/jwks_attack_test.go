package engine_test

// Attacks on the key-set cache (issue #10, items 7 and 5): floods of
// verifications against a slow or failing JWKS, forged kids spent to block
// a genuine key rotation, a waiter stuck behind another's fetch, and keys
// that must never verify a signature. Fetches are counted at the httptest
// JWKS; time moves on the injected clock only.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// jwtStepAt is the jwt step with keys from the IdP's path.
func jwtStepAt(path string) string {
	return `{"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "{{IDP}}` + path + `", "issuer": "{{IDP}}"}`
}

// backchannelOn enables back-channel logout in a strategy file.
const backchannelOn = `"backchannel_logout": true`

// logoutToken returns a logout token for the test IdP signed by sg, valid
// in every claim at the IdP's clock.
func signedLogoutToken(tb testing.TB, p *idp, sg signer) string {
	tb.Helper()
	now := p.clock.Now()
	return sg.sign(tb, jwt.MapClaims{
		"iss": p.URL, "aud": testClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": fmt.Sprintf("jti-%s-%d", sg.kid, now.UnixNano()), "sub": testSub,
		"events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
	}, func(h map[string]any) { h["typ"] = "logout+jwt" })
}

// forgedKID is an anonymous caller's key: the IdP's EC key material is
// not needed, any key under a kid the IdP never published will do.
func forgedKID(i int) signer {
	return signer{kid: fmt.Sprintf("forged-%d", i), method: jwt.SigningMethodES256, key: testKeyMaterial().ec}
}

// countingJWKS serves the IdP's published keys at path, counting fetches,
// after before (when not nil) has run; status, when not 200, replaces the
// answer with an error.
type countingJWKS struct {
	hits   atomic.Int64
	status atomic.Int64 // 0: serve the keys
	before func()
}

func (c *countingJWKS) mount(p *idp, path string) {
	p.handle("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		if c.before != nil {
			c.before()
		}
		if s := c.status.Load(); s != 0 {
			http.Error(w, "JWKS down", int(s))
			return
		}
		var keys []map[string]any
		for _, s := range p.config().published {
			keys = append(keys, s.jwk())
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	})
}

// flood runs n concurrent verifications of the tokens tok returns and
// fails the test if any is accepted.
func floodLogout(t *testing.T, s *engine.Strategy, n int, tok func(i int) string) {
	t.Helper()
	raws := make([]string, n)
	for i := range raws {
		raws[i] = tok(i)
	}
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for _, raw := range raws {
		wg.Go(func() {
			if _, err := s.VerifyLogoutToken(t.Context(), raw); err == nil {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	if a := accepted.Load(); a != 0 {
		t.Fatalf("%d of %d forged logout tokens accepted", a, n)
	}
}

// TestJWKSAttackSlowFailingFirstFetch: concurrent logins against a slow,
// failing JWKS share one fetch and all fail with ErrUnreachable.
func TestJWKSAttackSlowFailingFirstFetch(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	// The JWKS answers once every login has its tokens and so waits for
	// the keys (or soon will: a login after the failure shares it too).
	held := make(chan struct{})
	release := sync.OnceFunc(func() { close(held) })
	t.Cleanup(release)
	j := &countingJWKS{before: func() { <-held }}
	j.status.Store(http.StatusServiceUnavailable)
	j.mount(p, "/slowjwks")
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepAt("/slowjwks")))

	const logins = 8
	type begun struct {
		l  *engine.Login
		cb url.Values
	}
	var bs []begun
	for range logins {
		l, cb := p.begin(t, s)
		bs = append(bs, begun{l, cb})
	}
	errs := make([]error, logins)
	var wg sync.WaitGroup
	tokens := p.tokenHits.Load()
	for i, b := range bs {
		wg.Go(func() { _, errs[i] = s.Exchange(t.Context(), b.l, b.cb) })
	}
	waitCount(t, "token requests", &p.tokenHits, tokens+logins)
	release()
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, engine.ErrUnreachable) {
			t.Errorf("login %d: err = %v, want ErrUnreachable", i, err)
		}
	}
	n := j.hits.Load()
	if n != 1 {
		t.Errorf("%d concurrent logins against a slow, failing JWKS made %d fetches, want 1", logins, n)
	}
	t.Logf("%d concurrent logins, slow failing JWKS: %d fetch(es)", logins, n)
}

// TestJWKSAttackLogoutFlood: 500 anonymous back-channel logout POSTs make a
// small, bounded number of JWKS fetches, whether the JWKS is down or each
// token names a new forged kid.
func TestJWKSAttackLogoutFlood(t *testing.T) {
	t.Parallel()
	const n = 500
	tests := []struct {
		name   string
		status int   // JWKS answer; 0: the keys
		max    int64 // fetches allowed
	}{
		{"JWKS failing", http.StatusInternalServerError, 1},
		{"forged kids", 0, 2}, // the first fetch, and one refetch for an unknown kid
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			j := &countingJWKS{}
			j.status.Store(int64(tt.status))
			j.mount(p, "/floodjwks")
			s := p.strategy(t, stratFile(backchannelOn, tokenStep(authPost), jwtStepAt("/floodjwks")))
			floodLogout(t, s, n, func(i int) string { return signedLogoutToken(t, p, forgedKID(i)) })
			got := j.hits.Load()
			if got > tt.max {
				t.Errorf("%d concurrent forged logout tokens made %d JWKS fetches, want at most %d", n, got, tt.max)
			}
			t.Logf("%d concurrent forged logout tokens: %d JWKS fetch(es)", n, got)
		})
	}
}

// TestJWKSAttackRotationUnderForgedKIDFlood: an attacker keeps sending
// tokens with forged kids. The IdP rotates to a new key; once the
// unknown-kid window (5s by default) has passed, the genuine new key
// verifies — the refetch a forged kid causes picks it up too.
func TestJWKSAttackRotationUnderForgedKIDFlood(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile(backchannelOn, tokenStep(authPost), jwtStepJWKS))
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login before the attack: %v", err)
	}
	next := 0
	attack := func() {
		floodLogout(t, s, 50, func(int) string { next++; return signedLogoutToken(t, p, forgedKID(next)) })
	}
	attack()

	p.update(func(c *idpConfig) {
		c.published = append(c.published, otherRSASigner("rsa2"))
		c.signWith = otherRSASigner("rsa2")
	})
	attack() // inside the window: the new key may not be known yet
	p.clock.Advance(5 * time.Second)
	attack() // the first forged kid after the window refetches, and finds rsa2
	if err := loginOnce(t, p, s); err != nil {
		t.Fatalf("login with the rotated-in key 5s into a forged-kid flood: %v", err)
	}
	if _, err := s.VerifyLogoutToken(t.Context(), signedLogoutToken(t, p, otherRSASigner("rsa2"))); err != nil {
		t.Errorf("logout token with the rotated-in key: %v", err)
	}
	n := p.jwksHits.Load()
	if n > 3 {
		t.Errorf("JWKS fetched %d times, want at most 3 (first, one per window)", n)
	}
	t.Logf("rotation under 150 forged kids: %d JWKS fetches", n)
}

// TestJWKSAttackWaiterHonoursContext: while one fetch is in flight, a
// waiter whose context ends returns at once — even the one that started
// the fetch — and the fetch goes on for the others.
func TestJWKSAttackWaiterHonoursContext(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	gate := make(chan struct{})
	entered := make(chan struct{}, 16)
	var release sync.Once
	open := func() { release.Do(func() { close(gate) }) }
	j := &countingJWKS{before: func() { entered <- struct{}{}; <-gate }}
	j.mount(p, "/gatedjwks")
	s := p.strategy(t, stratFile(backchannelOn, tokenStep(authPost), jwtStepAt("/gatedjwks")))
	t.Cleanup(open) // before the IdP closes: it waits for its handlers

	raw := signedLogoutToken(t, p, rsaSigner())
	verify := func(ctx context.Context) <-chan error {
		ch := make(chan error, 1)
		go func() { _, err := s.VerifyLogoutToken(ctx, raw); ch <- err }()
		return ch
	}
	ctxA, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	first := verify(ctxA)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the JWKS was never fetched")
	}
	ctxB, cancelB := context.WithCancel(t.Context())
	defer cancelB()
	second := verify(ctxB)
	third := verify(t.Context())

	cancelA()
	select {
	case err := <-first:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the waiter that started the fetch: err = %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("the waiter whose context ended did not return while the fetch was in flight")
	}
	cancelB()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a joined waiter: err = %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("a joined waiter whose context ended did not return while the fetch was in flight")
	}
	open()
	if err := <-third; err != nil {
		t.Errorf("the waiter whose context lives: %v", err)
	}
	if n := j.hits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (shared)", n)
	}
}

// flipLastByte changes the last byte of a base64url value.
func flipLastByte(v string) string {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		panic(err)
	}
	b[len(b)-1] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestJWKSAttackRefusedKeys: a key marked "use": "enc", an RSA key under
// 2048 bits, an EC point off its curve, a published private key, a key
// whose alg belongs to another key type, or one with a member given twice
// never verifies a signature, even when the JWKS publishes it and the
// token names it; the login fails with ErrInvalidToken. Keys without
// "use", and RSA keys of 2048 bits, still pass.
func TestJWKSAttackRefusedKeys(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sg      signer
		jwk     func(map[string]any)
		refused bool
	}{
		{"use enc", signer{kid: "enc1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa},
			func(k map[string]any) { k["use"] = "enc" }, true},
		{"RSA 1024 bits", signer{kid: "small1", method: jwt.SigningMethodRS256, key: small}, nil, true},
		{"EC point off the curve", signer{kid: "offcurve1", method: jwt.SigningMethodES256, key: testKeyMaterial().ec},
			func(k map[string]any) { k["y"] = flipLastByte(k["y"].(string)) }, true},
		{"private key published", signer{kid: "private1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa},
			func(k map[string]any) { // the whole private key (RFC 7518 §6.3.2)
				priv, b64 := testKeyMaterial().rsa, base64.RawURLEncoding.EncodeToString
				k["d"], k["p"], k["q"] = b64(priv.D.Bytes()), b64(priv.Primes[0].Bytes()), b64(priv.Primes[1].Bytes())
				k["dp"], k["dq"], k["qi"] = b64(priv.Precomputed.Dp.Bytes()), b64(priv.Precomputed.Dq.Bytes()), b64(priv.Precomputed.Qinv.Bytes())
			}, true},
		{"alg of another key type", signer{kid: "mixed1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa},
			func(k map[string]any) { k["alg"] = "ES256" }, true},
		{"member given twice", signer{kid: "twice1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa},
			func(k map[string]any) { // n names another key first, then the signer's
				k["twice"] = k["n"]
				k["n"] = base64.RawURLEncoding.EncodeToString(testKeyMaterial().rsaOther.N.Bytes())
			}, true},
		{"no use member", signer{kid: "nouse1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa},
			func(k map[string]any) { delete(k, "use") }, false},
		{"RSA 2048 bits, use sig", rsaSigner(), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			var hits atomic.Int64
			p.handle("GET /refjwks", func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				k := tt.sg.jwk()
				if tt.jwk != nil {
					tt.jwk(k)
				}
				doc, err := json.Marshal(map[string]any{"keys": []map[string]any{k, ecSigner().jwk()}})
				if err != nil {
					t.Error(err)
				}
				doc = bytes.Replace(doc, []byte(`"twice":`), []byte(`"n":`), 1)
				w.Header().Set("Content-Type", "application/json")
				w.Write(doc)
			})
			p.update(func(c *idpConfig) { c.signWith = tt.sg })
			s := p.strategy(t, stratFile(backchannelOn, tokenStep(authPost), jwtStepAt("/refjwks")))
			err := loginOnce(t, p, s)
			_, lerr := s.VerifyLogoutToken(t.Context(), signedLogoutToken(t, p, tt.sg))
			if !tt.refused {
				if err != nil || lerr != nil {
					t.Fatalf("login: %v; logout token: %v; want both accepted", err, lerr)
				}
				return
			}
			if !errors.Is(err, engine.ErrInvalidToken) {
				t.Errorf("ID token signed with the key: err = %v, want ErrInvalidToken", err)
			}
			if !errors.Is(lerr, engine.ErrInvalidToken) {
				t.Errorf("logout token signed with the key: err = %v, want ErrInvalidToken", lerr)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("JWKS fetched %d times, want 1 (a refused key is known, not an unknown kid)", n)
			}
		})
	}
}
