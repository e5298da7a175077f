package engine_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// bearerFile is the usual strategy with "bearer" set to bearer (a JSON
// value) and, with introspect, an introspect step at {{IDP}}/introspect.
func bearerFile(bearer string, introspect bool) string {
	steps := []string{tokenStep(authPost), jwtStepJWKS}
	if introspect {
		steps = append(steps, postStep("introspect", "{{IDP}}/introspect", authBasic, `"token": "${bearer_token}"`))
	}
	return stratFile(`"bearer": `+bearer+`, "claims": {"groups": "roles"}`, steps...)
}

// accessToken returns a JWT access token of the test IdP for the test
// client, valid at the IdP's clock; change changes its claims and hook
// its header.
func accessToken(tb testing.TB, p *idp, sg signer, change func(jwt.MapClaims), hook func(map[string]any)) string {
	tb.Helper()
	now := p.clock.Now()
	c := jwt.MapClaims{"iss": p.URL, "aud": []string{testClientID, "other"}, "sub": testSub, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "scope": "openid orders:read", "client_id": testClientID, "roles": []string{"admins"}}
	if change != nil {
		change(c)
	}
	if hook == nil {
		hook = func(h map[string]any) { h["typ"] = "at+jwt" }
	}
	return sg.sign(tb, c, hook)
}

func TestVerifyBearerJWT(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEngine(t, parseFile(t, p.URL, bearerFile("true", false)), p.options())
	ctx := context.Background()

	good := accessToken(t, p, rsaSigner(), nil, nil)
	tok, err := e.VerifyBearer(ctx, good)
	if err != nil {
		t.Fatalf("a good access token: %v", err)
	}
	if tok.Strategy != testStrategy || tok.Subject != testSub || strings.Join(tok.Scopes, " ") != "openid orders:read" ||
		tok.Introspected || tok.Expiry.IsZero() || len(tok.ID) != 43 || strings.Contains(good, tok.ID) {
		t.Errorf("token %+v", tok)
	}
	if g, _ := tok.Claims["groups"].([]any); len(g) != 1 || g[0] != "admins" {
		t.Errorf("mapped claims %v", tok.Claims)
	}
	if !tok.HasScopes([]string{"orders:read"}) || tok.HasScopes([]string{"orders:write"}) {
		t.Error("HasScopes")
	}
	again, _ := e.VerifyBearer(ctx, good)
	if again != tok {
		t.Error("a warm token was verified again (want the cached one)")
	}
	for _, typ := range []string{"JWT", "application/at+jwt", ""} {
		raw := accessToken(t, p, rsaSigner(), nil, func(h map[string]any) {
			if typ == "" {
				delete(h, "typ")
			} else {
				h["typ"] = typ
			}
		})
		if _, err := e.VerifyBearer(ctx, raw); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}

	pub, _ := x509.MarshalPKIXPublicKey(&testKeyMaterial().rsa.PublicKey)
	hmacKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	now := p.clock.Now()
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"forged signature", otherRSASigner("rsa1").sign(t, jwt.MapClaims{"iss": p.URL, "aud": testClientID, "sub": testSub, "exp": now.Add(time.Minute).Unix()}, nil)},
		{"alg none", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": p.URL, "aud": testClientID, "sub": testSub, "exp": now.Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}()},
		{"HS256 keyed with the public key", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": p.URL, "aud": testClientID, "sub": testSub, "exp": now.Add(time.Minute).Unix()}).SignedString(hmacKey)
			return s
		}()},
		{"foreign aud", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["aud"] = "another-api" }, nil)},
		{"unknown iss", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }, nil)},
		{"expired", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }, nil)},
		{"no exp", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { delete(c, "exp") }, nil)},
		{"nbf in the future", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }, nil)},
		{"iat in the future", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }, nil)},
		{"no sub", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { delete(c, "sub") }, nil)},
		{"an ID token (nonce)", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["nonce"] = "n-123" }, func(h map[string]any) { h["typ"] = "JWT" })},
		{"an ID token (at_hash)", accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["at_hash"] = "abc" }, nil)},
		{"a logout token's typ", accessToken(t, p, rsaSigner(), nil, func(h map[string]any) { h["typ"] = "logout+jwt" })},
		{"crit header", accessToken(t, p, rsaSigner(), nil, func(h map[string]any) { h["crit"] = []string{"x"} })},
		{"opaque, no introspection", "opaque-token-123"},
		{"not a token", "a b"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.VerifyBearer(ctx, tc.raw); !errors.Is(err, engine.ErrInvalidToken) {
				t.Errorf("VerifyBearer: %v, want ErrInvalidToken", err)
			}
		})
	}

	t.Run("audience", func(t *testing.T) {
		e := newEngine(t, parseFile(t, p.URL, bearerFile(`{"audience": "https://api.test"}`, false)), p.options())
		if _, err := e.VerifyBearer(ctx, good); !errors.Is(err, engine.ErrInvalidToken) {
			t.Errorf("a token for the client_id, audience https://api.test: %v", err)
		}
		raw := accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["aud"] = "https://api.test" }, nil)
		if _, err := e.VerifyBearer(ctx, raw); err != nil {
			t.Errorf("a token for https://api.test: %v", err)
		}
	})
	t.Run("cached until exp", func(t *testing.T) {
		raw := accessToken(t, p, rsaSigner(), func(c jwt.MapClaims) { c["exp"] = p.clock.Now().Add(time.Minute).Unix() }, nil)
		if _, err := e.VerifyBearer(ctx, raw); err != nil {
			t.Fatal(err)
		}
		p.clock.Advance(2 * time.Minute) // past exp and the 30s leeway
		if _, err := e.VerifyBearer(ctx, raw); !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("after exp: %v, want expired", err)
		}
	})
}

// TestVerifyBearerIntrospection: an opaque token goes to the introspect
// step; answers are kept (60 s at most, a refusal 10 s), and checked.
func TestVerifyBearerIntrospection(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	var calls atomic.Int64
	answers := map[string]map[string]any{}
	p.handle("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if u, _, ok := r.BasicAuth(); !ok || u != testClientID {
			http.Error(w, `{"error": "invalid_client"}`, http.StatusUnauthorized)
			return
		}
		a, ok := answers[r.PostFormValue("token")]
		if !ok {
			a = map[string]any{"active": false}
		}
		writeJSON(w, http.StatusOK, a)
	})
	now := p.clock.Now()
	answers["live"] = map[string]any{"active": true, "sub": "user-1", "scope": "orders:read", "aud": testClientID,
		"iss": p.URL, "exp": now.Add(10 * time.Minute).Unix(), "roles": []string{"devs"}}
	answers["expired"] = map[string]any{"active": true, "sub": "user-1", "exp": now.Add(-time.Hour).Unix()}
	answers["foreign"] = map[string]any{"active": true, "sub": "user-1", "aud": []string{"other"}}
	answers["elsewhere"] = map[string]any{"active": true, "sub": "user-1", "iss": "https://evil.test"}
	answers["string-active"] = map[string]any{"active": "true", "sub": "user-1"}
	e := newEngine(t, parseFile(t, p.URL, bearerFile(`{"introspect": true}`, true)), p.options())
	ctx := context.Background()

	tok, err := e.VerifyBearer(ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Introspected || tok.Subject != "user-1" || strings.Join(tok.Scopes, ",") != "orders:read" {
		t.Errorf("token %+v", tok)
	}
	for range 5 {
		e.VerifyBearer(ctx, "live")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d introspection calls for six checks of one token, want 1", n)
	}
	p.clock.Advance(61 * time.Second)
	e.VerifyBearer(ctx, "live")
	if n := calls.Load(); n != 2 {
		t.Errorf("%d introspection calls after a minute, want 2 (answers are kept 60 s at most)", n)
	}
	for _, raw := range []string{"dead", "expired", "foreign", "elsewhere", "string-active"} {
		if _, err := e.VerifyBearer(ctx, raw); !errors.Is(err, engine.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", raw, err)
		}
	}
	before := calls.Load()
	e.VerifyBearer(ctx, "dead")
	if calls.Load() != before {
		t.Error("a refused token was introspected again at once")
	}
	p.clock.Advance(11 * time.Second)
	e.VerifyBearer(ctx, "dead")
	if calls.Load() != before+1 {
		t.Error("a refusal was kept past 10 s")
	}
	// A burst of checks of a new token: one introspection call.
	answers["burst"] = map[string]any{"active": true, "sub": "user-2"}
	before = calls.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.VerifyBearer(ctx, "burst"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load() - before; n != 1 {
		t.Errorf("%d introspection calls for 20 concurrent checks of one token, want 1", n)
	}
	// An unreachable or failing endpoint is not a bad token.
	p.handle("POST /introspect-down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) })
	down := newEngine(t, parseFile(t, p.URL, strings.Replace(bearerFile(`{"introspect": true}`, true), "/introspect\"", "/introspect-down\"", 1)), p.options())
	if _, err := down.VerifyBearer(ctx, "live"); err == nil || errors.Is(err, engine.ErrInvalidToken) {
		t.Errorf("introspection endpoint down: %v, want an error that is not ErrInvalidToken", err)
	}
}

// TestVerifyBearerPicksByIssuer: with two bearer strategies, the token's
// iss picks the one that verifies it.
func TestVerifyBearerPicksByIssuer(t *testing.T) {
	t.Parallel()
	a, b := newIDP(t), newIDP(t)
	file := `{"base_uri": "https://app.test", "strategies": {
		"a": {` + keysWith(strings.ReplaceAll(defaultAuthURI, "{{IDP}}", a.URL), defaultScope) + `, "bearer": true, "steps": [` +
		strings.ReplaceAll(tokenStep(authPost)+", "+jwtStepJWKS, "{{IDP}}", a.URL) + `]},
		"b": {` + keysWith(strings.ReplaceAll(defaultAuthURI, "{{IDP}}", b.URL), defaultScope) + `, "bearer": true, "steps": [` +
		strings.ReplaceAll(tokenStep(authPost)+", "+jwtStepJWKS, "{{IDP}}", b.URL) + `]}}}`
	e := newEngine(t, parseFile(t, a.URL, file), a.options())
	ctx := context.Background()
	for _, tc := range []struct {
		p    *idp
		want string
	}{{a, "a"}, {b, "b"}} {
		tok, err := e.VerifyBearer(ctx, accessToken(t, tc.p, rsaSigner(), nil, nil))
		if err != nil || tok.Strategy != tc.want {
			t.Errorf("token of %s: %v %v", tc.want, tok, err)
		}
	}
	// b's key under a's iss: a's keys verify it, and refuse it.
	forged := accessToken(t, b, otherRSASigner("rsa1"), func(c jwt.MapClaims) { c["iss"] = a.URL }, nil)
	if _, err := e.VerifyBearer(ctx, forged); !errors.Is(err, engine.ErrInvalidToken) {
		t.Errorf("a forged token naming a's issuer: %v", err)
	}
	dup := strings.ReplaceAll(file, b.URL, a.URL)
	dup = strings.Replace(dup, `"client_id": "`+testClientID+`"`, `"client_id": "x", "redirect_path": "/auth/a2/cb"`, 1)
	if _, err := engine.New(parseFile(t, a.URL, dup), a.options()); err == nil || !strings.Contains(err.Error(), "both take bearer tokens of the issuer") {
		t.Errorf("two strategies, one issuer: %v", err)
	}
}

// TestBearerIntrospectNeedsTheEndpoint: bearer.introspect on an oidc
// strategy whose discovery document names no introspection_endpoint
// stops the start, naming it.
func TestBearerIntrospectNeedsTheEndpoint(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	file := `{"base_uri": "https://app.test", "strategies": {"acme": {"extends": "oidc", "issuer": "{{IDP}}",
		"client_id": "` + testClientID + `", "client_secret": "${env.ACME_SECRET}", "bearer": {"introspect": true}}}}`
	_, err := engine.New(parseFile(t, p.URL, file), p.options())
	if err == nil || !strings.Contains(err.Error(), "names no introspection_endpoint") {
		t.Errorf("New: %v", err)
	}
	// Without bearer.introspect the step is simply never run.
	e := newEngine(t, parseFile(t, p.URL, strings.Replace(file, `{"introspect": true}`, "true", 1)), p.options())
	if _, ok := e.Strategy("acme").LeftOut()["introspect"]; ok {
		t.Error("an introspect step that never runs is reported as left out")
	}
}
