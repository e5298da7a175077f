package server_test

// API clients with bearer tokens (RFC 6750) against the real server and
// the real OP (devidp): each attack is a test of its own, and each first
// shows that a good token passes, so that none can pass by refusing
// everything.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// bearerStrategies is the bench's file with bearer tokens on for dev
// (JWT access tokens verified with the jwt step's keys, opaque ones
// introspected at the OP), upstream_claims, and a "mint" strategy whose
// keys the test holds ({{MINT}}), to sign tokens no real OP would issue.
func bearerStrategies(mint string) string {
	s := strings.Replace(authtest.DefaultStrategies, `"backchannel_logout": true,`,
		`"backchannel_logout": true, "bearer": {"introspect": true},
      "upstream_claims": {"display_name": "name", "client": "client_id"},`, 1)
	s = strings.Replace(s, `"form": { "token": "${refresh_token}", "token_type_hint": "refresh_token" } }`,
		`"form": { "token": "${refresh_token}", "token_type_hint": "refresh_token" } },
        { "name": "introspect", "uri": "${idp}/oauth/introspect", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "token": "${bearer_token}", "token_type_hint": "access_token" } }`, 1)
	if mint != "" {
		s = strings.Replace(s, `"devpublic": {`, `"mint": {
      "mint": "`+mint+`", "bearer": true, "client_id": "mint-api",
      "auth_uri": "${mint}/authorize?client_id=${client_id}&scope=${scope}", "scope": "openid",
      "steps": [
        { "name": "token", "uri": "${mint}/token", "method": "POST", "form": { "code": "${auth.code}", "code_verifier": "${code_verifier}" } },
        { "name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${mint}/keys", "issuer": "${mint}" } ]
    },
    "devpublic": {`, 1)
	}
	return s
}

// minter is an OP the test holds the key of: it serves only its JWKS.
type minter struct {
	url string
	key *rsa.PrivateKey
}

func newMinter(t *testing.T) *minter {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m := &minter{key: k}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{"kty": "RSA", "kid": "m1", "use": "sig", "alg": "RS256",
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}}})
	}))
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

// token signs claims with the minter's key, as an access token.
func (m *minter) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"], tok.Header["typ"] = "m1", "at+jwt"
	s, err := tok.SignedString(m.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bearerBench is a bench with bearerStrategies; jwtTokens makes the OP
// issue JWT access tokens. introspections, when not nil, counts the
// engine's calls to the introspection endpoint.
func bearerBench(t *testing.T, jwtTokens bool, mint *minter, introspections *atomic.Int64, mod func(*server.Config)) *authtest.Bench {
	t.Helper()
	o := authtest.Options{AccessTokenJWT: jwtTokens, Config: mod}
	m := ""
	if mint != nil {
		m = mint.url
	}
	o.Strategies = bearerStrategies(m)
	if introspections != nil {
		o.Intercept = func(req *http.Request) (*http.Response, error) {
			if req.URL.Path == "/oauth/introspect" {
				introspections.Add(1)
			}
			return nil, nil
		}
	}
	return authtest.New(t, o)
}

// accessTokenFor signs u in with strategy in a browser of its own and
// returns the access token the OP issued to authflow: what an API client
// of that OP holds.
func accessTokenFor(t *testing.T, b *authtest.Bench, strategy string, u devidp.User) string {
	t.Helper()
	br := b.NewBrowser()
	br.MustLogin(strategy, u)
	at := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "access_token").String()
	if at == "" {
		t.Fatal("the OP's token answer has no access_token")
	}
	return at
}

// bearerGet sends GET path with Authorization: Bearer token (and the
// extra headers) from a client without cookies.
func bearerGet(t *testing.T, b *authtest.Bench, path, token string, extra http.Header) *authtest.Page {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + token}}
	for k, v := range extra {
		h[k] = v
	}
	return b.NewBrowser().Do(http.MethodGet, path, nil, h)
}

// wantInvalidToken fails unless p is the RFC 6750 refusal of a bad token.
func wantInvalidToken(t *testing.T, what string, p *authtest.Page) {
	t.Helper()
	if p.Status != http.StatusUnauthorized || p.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("%s: %d, WWW-Authenticate %q; want 401 Bearer error=\"invalid_token\"", what, p.Status, p.Header.Get("WWW-Authenticate"))
	}
	if p.Header.Get("X-Auth-User") != "" || p.Header.Get("Set-Cookie") != "" || p.Location != "" {
		t.Errorf("%s: refused, yet X-Auth-User %q, Set-Cookie %q, Location %q", what, p.Header.Get("X-Auth-User"), p.Header.Get("Set-Cookie"), p.Location)
	}
}

// wantOK fails unless p is a 200 naming sub.
func wantOK(t *testing.T, what string, p *authtest.Page, sub string) {
	t.Helper()
	if p.Status != http.StatusOK || p.Header.Get("X-Auth-User") != sub {
		t.Fatalf("%s: %d, X-Auth-User %q, WWW-Authenticate %q; want 200 for %s", what, p.Status, p.Header.Get("X-Auth-User"), p.Header.Get("WWW-Authenticate"), sub)
	}
}

// resign returns tok with its payload's claims changed and the old
// signature kept: a forgery.
func resign(t *testing.T, tok string, change func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(payload, &c)
	change(c)
	b, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// claimsOf returns a JWT's payload, unverified.
func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBearerJWTAccessToken(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Ada())
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("the OP issued no JWT access token: %.20s…", tok)
	}
	p := bearerGet(t, b, "/auth/verify?redirect=true", tok, nil)
	wantOK(t, "a good JWT access token", p, authtest.Ada().ID)
	for h, want := range map[string]string{"X-Auth-Email": authtest.Ada().Email, "X-Auth-Groups": "admins,devs", "X-Auth-Strategy": "dev",
		"X-Auth-Scopes": "openid email profile groups offline_access"} {
		if got := p.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if p.Header.Get("Set-Cookie") != "" || p.Header.Get("X-Auth-Token") != "" {
		t.Errorf("Set-Cookie %q, X-Auth-Token %q: want neither", p.Header.Get("Set-Cookie"), p.Header.Get("X-Auth-Token"))
	}
	// Allow-lists apply; a refusal is 403 and names no scope problem.
	wantOK(t, "allowed_groups=admins", bearerGet(t, b, "/auth/verify?allowed_groups=admins", tok, nil), authtest.Ada().ID)
	bob := accessTokenFor(t, b, "dev", authtest.Bob())
	if p := bearerGet(t, b, "/auth/verify?allowed_groups=admins", bob, nil); p.Status != http.StatusForbidden || p.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("Bob (no group) on allowed_groups=admins: %d %q, want a plain 403", p.Status, p.Header.Get("WWW-Authenticate"))
	}
	// Behind Require: the token's user, in JSON.
	p = bearerGet(t, b, "/app/x", tok, http.Header{"Accept": {"text/html"}})
	if p.Status != http.StatusOK || p.JSON()["sub"] != authtest.Ada().ID || p.JSON()["email"] != authtest.Ada().Email {
		t.Errorf("Require with a bearer token: %d %s", p.Status, p.Body)
	}
	if p := bearerGet(t, b, "/app/x", "not-a-valid-token", http.Header{"Accept": {"text/html"}}); p.Status != http.StatusUnauthorized ||
		p.Location != "" || p.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("Require with a bad token, as a browser: %d Location %q WWW-Authenticate %q; want 401, no redirect", p.Status, p.Location, p.Header.Get("WWW-Authenticate"))
	}
	if p := bearerGet(t, b, "/admin/", bob, nil); p.Status != http.StatusForbidden {
		t.Errorf("RequireAllowed(admins) with Bob's token: %d", p.Status)
	}
	// The token never reaches the logs.
	b.Tokens.Add(tok, bob)
	b.AssertNoSecrets("server logs", b.Logs.String())
}

func TestBearerOpaqueIntrospected(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	b := bearerBench(t, false, nil, &calls, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Ada())
	if strings.Count(tok, ".") == 2 {
		t.Fatal("the OP issued a JWT; want an opaque token")
	}
	for i := range 5 {
		wantOK(t, fmt.Sprintf("check %d of an opaque token", i+1), bearerGet(t, b, "/auth/verify", tok, nil), authtest.Ada().ID)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d introspection calls for 5 checks, want 1 (the answer is kept)", n)
	}
	p := bearerGet(t, b, "/auth/verify", tok, nil)
	if p.Header.Get("X-Auth-Email") != authtest.Ada().Email || p.Header.Get("X-Auth-Groups") != "admins,devs" ||
		p.Header.Get("X-Auth-Scopes") != "openid email profile groups offline_access" {
		t.Errorf("headers from the introspection answer: %v", p.Header)
	}
	// Revoked at the OP: refused once the kept answer is older than 60 s.
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	req, _ := http.NewRequest(http.MethodPost, b.IdPURL+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(authtest.BasicClient), url.QueryEscape(authtest.BasicSecret))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke at the OP: %v %v", resp, err)
	}
	b.Clock.Advance(61 * time.Second)
	wantInvalidToken(t, "a revoked opaque token, after 60 s", bearerGet(t, b, "/auth/verify", tok, nil))
	if n := calls.Load(); n != 2 {
		t.Errorf("%d introspection calls, want 2", n)
	}
	// The refusal is kept for 10 s: a client retrying costs no call.
	bearerGet(t, b, "/auth/verify", tok, nil)
	if n := calls.Load(); n != 2 {
		t.Errorf("%d introspection calls after a retry, want 2", n)
	}
	b.Tokens.Add(tok)
	b.AssertNoSecrets("server logs", b.Logs.String())
}

func TestBearerForgedSignature(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Bob())
	wantOK(t, "the genuine token", bearerGet(t, b, "/auth/verify", tok, nil), authtest.Bob().ID)
	forged := resign(t, tok, func(c map[string]any) { c["sub"], c["groups"] = authtest.Ada().ID, []string{"admins"} })
	wantInvalidToken(t, "Bob's token with Ada's sub", bearerGet(t, b, "/auth/verify", forged, nil))
	b.Tokens.Add(tok, forged)
	b.AssertNoSecrets("server logs", b.Logs.String()) // the refusal is logged without the token
}

func TestBearerAlgNone(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Bob())
	wantOK(t, "the genuine token", bearerGet(t, b, "/auth/verify", tok, nil), authtest.Bob().ID)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsOf(t, tok)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	wantInvalidToken(t, "the token's claims under alg none", bearerGet(t, b, "/auth/verify", none, nil))
}

func TestBearerHS256WithThePublicKey(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Bob())
	wantOK(t, "the genuine token", bearerGet(t, b, "/auth/verify", tok, nil), authtest.Bob().ID)
	// The OP's public key, as an attacker fetches it.
	resp, err := http.Get(b.IdPURL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	k := gjson.GetBytes(body, "keys.0")
	n, _ := base64.RawURLEncoding.DecodeString(k.Get("n").String())
	e, _ := base64.RawURLEncoding.DecodeString(k.Get("e").String())
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	for name, secret := range map[string][]byte{
		"PEM": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "DER": der, "PKCS1": x509.MarshalPKCS1PublicKey(pub)} {
		h := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsOf(t, tok))
		h.Header["kid"] = k.Get("kid").String()
		forged, err := h.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		wantInvalidToken(t, "HS256 keyed with the public key ("+name+")", bearerGet(t, b, "/auth/verify", forged, nil))
	}
}

func TestBearerForeignAudience(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	wantOK(t, "a token for authflow's client", bearerGet(t, b, "/auth/verify", accessTokenFor(t, b, "dev", authtest.Bob()), nil), authtest.Bob().ID)
	// Same OP, same keys, issued to another client (post-app).
	other := accessTokenFor(t, b, "devpost", authtest.Bob())
	if aud := fmt.Sprint(claimsOf(t, other)["aud"]); !strings.Contains(aud, authtest.PostClient) {
		t.Fatalf("aud %s", aud)
	}
	wantInvalidToken(t, "a token issued to another client", bearerGet(t, b, "/auth/verify", other, nil))
}

func TestBearerUnknownIssuer(t *testing.T) {
	t.Parallel()
	mint := newMinter(t)
	b := bearerBench(t, true, mint, nil, nil)
	now := b.Clock.Now()
	claims := jwt.MapClaims{"iss": mint.url, "aud": "mint-api", "sub": "svc-1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	wantOK(t, "a token of a known issuer", bearerGet(t, b, "/auth/verify", mint.token(t, claims), nil), "svc-1")
	claims["iss"] = "https://evil.test"
	wantInvalidToken(t, "the same token naming an issuer no strategy claims", bearerGet(t, b, "/auth/verify", mint.token(t, claims), nil))
	// Another issuer's key under a known issuer's name.
	evil := &minter{key: mustRSA(t)}
	claims["iss"] = b.IdPURL
	wantInvalidToken(t, "a foreign key naming the OP as issuer", bearerGet(t, b, "/auth/verify", evil.token(t, claims), nil))
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBearerExpired(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Bob())
	wantOK(t, "the fresh token (cached from now on)", bearerGet(t, b, "/auth/verify", tok, nil), authtest.Bob().ID)
	exp := time.Unix(int64(claimsOf(t, tok)["exp"].(float64)), 0)
	b.Clock.Advance(exp.Sub(b.Clock.Now()) + 31*time.Second) // past exp and the leeway
	wantInvalidToken(t, "the token past its exp", bearerGet(t, b, "/auth/verify", tok, nil))
}

func TestBearerMissingExp(t *testing.T) {
	t.Parallel()
	mint := newMinter(t)
	b := bearerBench(t, true, mint, nil, nil)
	now := b.Clock.Now()
	claims := jwt.MapClaims{"iss": mint.url, "aud": "mint-api", "sub": "svc-1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	wantOK(t, "a token with exp", bearerGet(t, b, "/auth/verify", mint.token(t, claims), nil), "svc-1")
	delete(claims, "exp")
	wantInvalidToken(t, "the same token without exp", bearerGet(t, b, "/auth/verify", mint.token(t, claims), nil))
}

func TestBearerIDTokenIsNotAnAccessToken(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	wantOK(t, "the access token", bearerGet(t, b, "/auth/verify", accessTokenFor(t, b, "dev", authtest.Bob()), nil), authtest.Bob().ID)
	idToken := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "id_token").String()
	wantInvalidToken(t, "the ID token of the same login (aud: the client_id)", bearerGet(t, b, "/auth/verify", idToken, nil))
}

func TestBearerCookieIgnored(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	bob := accessTokenFor(t, b, "dev", authtest.Bob())
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	if p := br.Verify(); p.Status != http.StatusOK || p.Header.Get("X-Auth-User") != authtest.Ada().ID {
		t.Fatalf("Ada's session: %d", p.Status)
	}
	// Ada's cookie and a bad token: the token decides.
	p := br.Do(http.MethodGet, "/auth/verify", nil, http.Header{"Authorization": {"Bearer forged.not.valid"}})
	wantInvalidToken(t, "a session cookie with a bad bearer token", p)
	p = br.Do(http.MethodGet, "/app/", nil, http.Header{"Authorization": {"Bearer garbage"}})
	if p.Status != http.StatusUnauthorized {
		t.Errorf("Require, a session cookie with a bad bearer token: %d %s, want 401", p.Status, p.Body)
	}
	// Ada's cookie and Bob's token: Bob, and Ada's session is untouched.
	p = br.Do(http.MethodGet, "/auth/verify", nil, http.Header{"Authorization": {"Bearer " + bob}})
	wantOK(t, "Ada's cookie with Bob's token", p, authtest.Bob().ID)
	if p.Header.Get("Set-Cookie") != "" {
		t.Errorf("a bearer answer set a cookie: %q", p.Header.Get("Set-Cookie"))
	}
	if p := br.Verify(); p.Header.Get("X-Auth-User") != authtest.Ada().ID {
		t.Errorf("Ada's session after the bearer requests: %d %q", p.Status, p.Header.Get("X-Auth-User"))
	}
}

func TestBearerInsufficientScope(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Ada())
	wantOK(t, "required_scopes=email,groups", bearerGet(t, b, "/auth/verify?required_scopes=email,groups", tok, nil), authtest.Ada().ID)
	p := bearerGet(t, b, "/auth/verify?required_scopes=email,orders:write", tok, nil)
	if p.Status != http.StatusForbidden || !strings.HasPrefix(p.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope"`) ||
		p.Header.Get("X-Auth-User") != "" {
		t.Errorf("a token without orders:write: %d, WWW-Authenticate %q; want 403 insufficient_scope", p.Status, p.Header.Get("WWW-Authenticate"))
	}
	// A session has no scopes: a route that requires some refuses it.
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	if p := br.Get("/auth/verify?required_scopes=email"); p.Status != http.StatusForbidden {
		t.Errorf("a session on a route with required_scopes: %d, want 403", p.Status)
	}
}

// TestBearerUpstreamJWT: with upstream_jwt, a bearer 200 carries
// X-Auth-Token: no sid, the upstream_claims, never past the bearer
// token's exp, reused while over half of its life remains.
func TestBearerUpstreamJWT(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, func(c *server.Config) {
		c.UpstreamJWT = server.UpstreamJWT{Enabled: true, TTL: upstreamTTL}
	})
	api := newUpstreamAPI(t, b)
	tok := accessTokenFor(t, b, "dev", authtest.Ada())
	p := bearerGet(t, b, "/auth/verify", tok, nil)
	wantOK(t, "a good token", p, authtest.Ada().ID)
	up := p.Header.Get("X-Auth-Token")
	claims, _, err := api.verify(up)
	if err != nil {
		t.Fatalf("X-Auth-Token of a bearer request: %v", err)
	}
	if claims["sub"] != authtest.Ada().ID || claims["strategy"] != "dev" || claims["email"] != authtest.Ada().Email ||
		claims["client"] != authtest.BasicClient {
		t.Errorf("claims %v", claims)
	}
	if _, has := claims["sid"]; has {
		t.Errorf("a bearer request's upstream JWT has a sid: %v", claims["sid"])
	}
	if exp, bexp := numericDate(t, claims, "exp"), time.Unix(int64(claimsOf(t, tok)["exp"].(float64)), 0); exp.After(bexp) {
		t.Errorf("upstream exp %s after the bearer token's %s", exp, bexp)
	}
	if again := bearerGet(t, b, "/auth/verify", tok, nil).Header.Get("X-Auth-Token"); again != up {
		t.Error("the upstream JWT was not reused")
	}
	// A session's upstream JWT carries the upstream_claims too.
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	sc, _, err := api.verify(br.Verify().Header.Get("X-Auth-Token"))
	if err != nil || sc["display_name"] != authtest.Ada().Name || sc["sid"] == nil {
		t.Errorf("session upstream JWT: %v %v", sc, err)
	}
}

// TestBearerOIDCIntrospection: a strategy extending the built-in oidc
// introspects opaque tokens at the discovered introspection_endpoint,
// with the client authentication discovery names.
func TestBearerOIDCIntrospection(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	b := authtest.New(t, authtest.Options{
		Strategies: `{"strategies": {"devoidc": {"extends": "oidc", "issuer": "{{IDP}}", "client_id": "basic-app",
			"client_secret": "${env.BASIC_SECRET}", "redirect_path": "/auth/dev/callback", "scope": "openid email profile groups",
			"bearer": {"introspect": true}}}}`,
		Intercept: func(req *http.Request) (*http.Response, error) {
			if req.URL.Path == "/oauth/introspect" {
				calls.Add(1)
			}
			return nil, nil
		}})
	tok := accessTokenFor(t, b, "devoidc", authtest.Ada())
	p := bearerGet(t, b, "/auth/verify", tok, nil)
	wantOK(t, "an opaque token, introspected at the discovered endpoint", p, authtest.Ada().ID)
	if calls.Load() != 1 || p.Header.Get("X-Auth-Strategy") != "devoidc" || p.Header.Get("X-Auth-Email") != authtest.Ada().Email {
		t.Errorf("%d introspection calls, strategy %q, email %q", calls.Load(), p.Header.Get("X-Auth-Strategy"), p.Header.Get("X-Auth-Email"))
	}
	wantInvalidToken(t, "an unknown opaque token", bearerGet(t, b, "/auth/verify", "no-such-token-at-all", nil))
}

// TestBearerScopeChallenge: the insufficient_scope challenge names the
// required scopes, and a quote in a verify URL's scope cannot break it.
func TestBearerScopeChallenge(t *testing.T) {
	t.Parallel()
	b := bearerBench(t, true, nil, nil, nil)
	tok := accessTokenFor(t, b, "dev", authtest.Ada())
	p := bearerGet(t, b, "/auth/verify?required_scopes="+url.QueryEscape(`orders:write,x"y,email`), tok, nil)
	if got, want := p.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope", scope="orders:write email"`; p.Status != http.StatusForbidden || got != want {
		t.Errorf("%d %q, want 403 %q", p.Status, got, want)
	}
}
