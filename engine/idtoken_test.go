package engine_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// This file attacks the ID token's own soundness (issue #10, item 5): it
// must carry its subject and iat, its header must be one this verifier
// understands and that types it as an ID token, its time claims must fit
// a 64-bit second count, and the login must end with a subject that no
// later step supplied.

// signRaw signs a header and a payload given as bytes (so that they may
// hold what a map cannot: a key twice) with s.
func signRaw(tb testing.TB, s signer, header, payload string) string {
	tb.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	in := b64([]byte(header)) + "." + b64([]byte(payload))
	sig, err := s.method.Sign(in, s.key)
	if err != nil {
		tb.Fatalf("signing: %v", err)
	}
	return in + "." + b64(sig)
}

// withDuplicate returns a rawIDToken maker whose payload is the claims
// with key first given as v, then as the claims have it: a JSON parser
// that keeps the first of two keys reads v, one that keeps the last reads
// the claims' value.
func withDuplicate(tb testing.TB, key string, v any) func(jwt.MapClaims) string {
	return func(cl jwt.MapClaims) string {
		body, err := json.Marshal(cl)
		if err != nil {
			tb.Fatal(err)
		}
		first, _ := json.Marshal(map[string]any{key: v})
		payload := string(first[:len(first)-1]) + "," + string(body[1:])
		return signRaw(tb, rsaSigner(), `{"alg":"RS256","kid":"rsa1","typ":"JWT"}`, payload)
	}
}

// setHeader returns a headerHook change that sets (or, with a nil value,
// deletes) one header parameter.
func setHeader(name string, v any) func(*idpConfig) {
	return func(c *idpConfig) {
		c.headerHook = func(h map[string]any) {
			if v == nil {
				delete(h, name)
				return
			}
			h[name] = v
		}
	}
}

// TestIDTokenSoundness runs a login per ID token that is validly signed by
// the IdP's key yet unsound: each must fail the jwt step with
// ErrInvalidToken and its cause, before userinfo runs. The last rows must
// pass.
func TestIDTokenSoundness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*idpConfig)
		causes []error // besides ErrInvalidToken; nil: the token is valid
		msg    string  // the error names this
	}{
		// Its own subject.
		{name: "no sub", change: setClaim("sub", nil), causes: []error{jwt.ErrTokenRequiredClaimMissing}, msg: "sub"},
		{name: "empty sub", change: setClaim("sub", ""), causes: []error{jwt.ErrTokenRequiredClaimMissing}, msg: "sub"},
		{name: "object sub", change: setClaim("sub", map[string]any{"id": testSub}), causes: []error{jwt.ErrTokenInvalidClaims}, msg: "sub"},
		{name: "numeric sub", change: setClaim("sub", 42), causes: []error{jwt.ErrTokenInvalidClaims}, msg: "sub"},
		// Its own iat (OIDC Core §2).
		{name: "no iat", change: setClaim("iat", nil), causes: []error{jwt.ErrTokenRequiredClaimMissing}, msg: "iat"},
		// crit: no extension is understood, so any is unknown (RFC 7515 §4.1.11).
		{name: "crit names an extension", change: setHeader("crit", []string{"urn:example:ext"}), causes: []error{jwt.ErrTokenUnverifiable}, msg: "crit"},
		{name: "crit names b64", change: setHeader("crit", []string{"b64"}), causes: []error{jwt.ErrTokenUnverifiable}, msg: "crit"},
		{name: "crit empty", change: setHeader("crit", []string{}), causes: []error{jwt.ErrTokenUnverifiable}, msg: "crit"},
		// typ: another kind of token.
		{name: "typ at+jwt", change: setHeader("typ", "at+jwt"), causes: []error{jwt.ErrTokenMalformed}, msg: "typ"},
		{name: "typ application/at+jwt", change: setHeader("typ", "application/at+jwt"), causes: []error{jwt.ErrTokenMalformed}, msg: "typ"},
		{name: "typ logout+jwt", change: setHeader("typ", "logout+jwt"), causes: []error{jwt.ErrTokenMalformed}, msg: "typ"},
		{name: "typ JOSE", change: setHeader("typ", "JOSE"), causes: []error{jwt.ErrTokenMalformed}, msg: "typ"},
		{name: "typ a number", change: setHeader("typ", 1), causes: []error{jwt.ErrTokenMalformed}, msg: "typ"},
		// Time claims that do not fit a 64-bit second count wrap around in
		// the conversion to time.Time and land in the past.
		{name: "nbf 1e300", change: setClaim("nbf", 1e300), causes: []error{jwt.ErrTokenInvalidClaims}, msg: "nbf"},
		{name: "iat 1e300", change: setClaim("iat", 1e300), causes: []error{jwt.ErrTokenInvalidClaims}, msg: "iat"},
		{name: "nbf just under 2^63 (overflows Go's time)", change: setClaim("nbf", 9.223372036854775e18), causes: []error{jwt.ErrTokenInvalidClaims}, msg: "nbf"},
		{name: "exp -1e300", change: setClaim("exp", -1e300), causes: []error{jwt.ErrTokenInvalidClaims}, msg: "exp"},
		// One view of the token: a key twice is refused, not read last-wins.
		{name: "sub twice in the payload", change: func(c *idpConfig) { c.rawIDToken = withDuplicate(t, "sub", "someone-else") },
			causes: []error{jwt.ErrTokenMalformed}, msg: `duplicate key "sub"`},
		{name: "typ twice in the header", change: func(c *idpConfig) {
			c.rawIDToken = func(cl jwt.MapClaims) string {
				body, _ := json.Marshal(cl)
				return signRaw(t, rsaSigner(), `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","typ":"JWT"}`, string(body))
			}
		}, causes: []error{jwt.ErrTokenMalformed}, msg: `duplicate key "typ"`},
		{name: "typ at+jwt under an escaped name", change: func(c *idpConfig) {
			c.rawIDToken = func(cl jwt.MapClaims) string {
				body, _ := json.Marshal(cl)
				return signRaw(t, rsaSigner(), `{"alg":"RS256","kid":"rsa1","t\u0079p":"at+jwt"}`, string(body))
			}
		}, causes: []error{jwt.ErrTokenMalformed}, msg: "typ"},

		// Sound tokens.
		{name: "typ JWT"},
		{name: "typ jwt in lower case", change: setHeader("typ", "jwt")},
		{name: "typ application/jwt", change: setHeader("typ", "application/JWT")},
		{name: "no typ", change: setHeader("typ", nil)},
		{name: "exp in the year 2100", change: setClaim("exp", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix())},
		{name: "fractional iat", change: setClaim("iat", float64(t0.Unix())+0.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			if tt.change != nil {
				p.update(tt.change)
			}
			s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS, userinfoStep))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if tt.causes == nil {
				if err != nil {
					t.Fatalf("sound token refused: %v", err)
				}
				if res.Subject() != testSub {
					t.Errorf("Subject() = %q, want %q", res.Subject(), testSub)
				}
				return
			}
			if err == nil {
				t.Fatalf("unsound token accepted: subject %q, user %s", res.Subject(), res.User)
			}
			wantStep(t, err, "jwt")
			for _, want := range append([]error{engine.ErrInvalidToken}, tt.causes...) {
				if !errors.Is(err, want) {
					t.Errorf("err = %v; want it to match %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v; want it to name %q", err, tt.msg)
			}
			if n := p.userinfoHits.Load(); n != 0 {
				t.Errorf("userinfo called %d times after an unsound ID token", n)
			}
			wantNoSecrets(t, err, cb.Get("code"), l.CodeVerifier)
		})
	}
}

// TestLoginSubject: every login ends with a subject, the mapped sub claim,
// else the user object's sub: a non-empty string, or an integer taken as
// its decimal text. The user step here is an HTTP step (GitHub's /user);
// its answer is the row's body.
func TestLoginSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims string // the strategy's claims key, or ""
		body   string // the user step's answer
		want   string // the subject; "" when the login must fail
	}{
		{name: "string sub", body: `{"sub": "u-1"}`, want: "u-1"},
		{name: "integer sub", body: `{"sub": 583231}`, want: "583231"},
		{name: "mapped numeric id", claims: `{"sub": "id"}`, body: `{"id": 1234567890123, "login": "octocat"}`, want: "1234567890123"},
		{name: "mapped id wins over sub", claims: `{"sub": "id"}`, body: `{"id": 7, "sub": "other"}`, want: "7"},
		{name: "mapped string", claims: `{"sub": "account.uuid"}`, body: `{"account": {"uuid": "a-b-c"}}`, want: "a-b-c"},

		{name: "no sub", body: `{"login": "octocat"}`},
		{name: "empty sub", body: `{"sub": ""}`},
		{name: "null sub", body: `{"sub": null}`},
		{name: "object sub", body: `{"sub": {"id": 1}}`},
		{name: "array sub", body: `{"sub": ["a"]}`},
		{name: "boolean sub", body: `{"sub": true}`},
		{name: "fractional sub", body: `{"sub": 1.5}`},
		{name: "integer beyond 2^53 (not exact as a JSON number)", body: `{"sub": 12345678901234567891}`},
		{name: "mapped claim absent: no fallback to sub", claims: `{"sub": "id"}`, body: `{"sub": "someone"}`},
		{name: "mapped claim empty", claims: `{"sub": "id"}`, body: `{"id": "", "sub": "someone"}`},
		{name: "mapped claim an object", claims: `{"sub": "id"}`, body: `{"id": {"n": 1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.handle("GET /me", respond(200, "application/json", tt.body))
			extra := ""
			if tt.claims != "" {
				extra = `"claims": ` + tt.claims
			}
			s := p.strategy(t, stratFile(extra, tokenStep(authPost),
				`{"name": "jwt", "uri": "{{IDP}}/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if got := res.Subject(); got != tt.want {
					t.Errorf("Subject() = %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("login without a subject accepted: Subject() %q, user %s", res.Subject(), res.User)
			}
			wantStep(t, err, "jwt")
			if !errors.Is(err, engine.ErrNoSubject) || !errors.Is(err, engine.ErrBadResponse) {
				t.Errorf("err = %v, want ErrNoSubject and ErrBadResponse", err)
			}
		})
	}
}

// TestUserinfoCannotSupplySubject: a userinfo answer's sub never becomes
// the subject of a login whose user object lacks one: not after a user
// step without sub, nor after an unverified ID token without sub (the
// verified case fails at the jwt step, TestIDTokenSoundness).
func TestUserinfoCannotSupplySubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*idpConfig)
		user   string // the user step
	}{
		{name: "HTTP user step without sub",
			user: `{"name": "jwt", "uri": "{{IDP}}/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`},
		{name: "unverified ID token without sub", change: setClaim("sub", nil),
			user: `{"name": "jwt", "decode": "${token.id_token}", "verify": false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			if tt.change != nil {
				p.update(tt.change)
			}
			p.handle("GET /me", respond(200, "application/json", `{"login": "ada", "email": "ada@me.example"}`))
			s := p.strategy(t, stratFile("", tokenStep(authPost), tt.user, userinfoStep))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if err == nil {
				t.Fatalf("userinfo supplied the subject: Subject() %q, user %s", res.Subject(), res.User)
			}
			if !errors.Is(err, engine.ErrNoSubject) {
				t.Errorf("err = %v, want ErrNoSubject", err)
			}
			if n := p.userinfoHits.Load(); n != 1 {
				t.Errorf("userinfo called %d times, want 1", n)
			}
		})
	}
}

// TestUserinfoSubjectKept: with an ID token that has its sub, a userinfo
// answer without sub, or with the same sub, keeps it.
func TestUserinfoSubjectKept(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.handle("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"name": userinfoName})
	})
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS,
		`{"name": "userinfo", "uri": "{{IDP}}/ui", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`))
	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if res.Subject() != testSub {
		t.Errorf("Subject() = %q, want %q", res.Subject(), testSub)
	}
}
