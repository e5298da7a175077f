package engine_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// This file is the test identity provider: an httptest server speaking
// enough OAuth 2.0 / OpenID Connect for the engine's login, refresh and
// revoke flows, with switches to make it misbehave.

// Test client credentials. The secret holds ':', '/', '+' and '@' so that
// client_secret_basic must form-encode it (RFC 6749 §2.3.1) to arrive intact.
const (
	testClientID     = "acme-client"
	testClientSecret = "s3cr3t:p@ss/w+rd"
	testSub          = "user-42"
	idTokenEmail     = "ada@idtoken.example"
	userinfoEmail    = "ada@userinfo.example"
	userinfoName     = "Ada Lovelace"
)

// t0 is the fixed time the test clocks start at. Whole seconds, so that JWT
// NumericDates (seconds) land exactly on it.
var t0 = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// clock is a settable clock shared by the test IdP (to stamp tokens) and
// the engine (Options.Now, to check them).
type clock struct{ ns atomic.Int64 }

// newClock returns a clock stopped at t.
func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// signer is a key the test IdP signs ID tokens with and may publish in its
// JWKS under kid.
type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

// sign signs claims, with kid in the header unless kid is empty; hook, when
// set, may change the header first.
func (s signer) sign(tb testing.TB, claims jwt.MapClaims, hook func(map[string]any)) string {
	tb.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	if hook != nil {
		hook(tok.Header)
	}
	raw, err := tok.SignedString(s.key)
	if err != nil {
		tb.Fatalf("signing the ID token: %v", err)
	}
	return raw
}

// jwk returns the public half of the key as a JWK (RFC 7517) object.
func (s signer) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := s.key.(type) {
	case *rsa.PrivateKey:
		return map[string]any{"kty": "RSA", "kid": s.kid, "use": "sig", "alg": s.method.Alg(),
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			panic(err) // a P-256 key always converts
		}
		b := pub.Bytes() // 0x04 || X || Y, each padded to 32 bytes
		return map[string]any{"kty": "EC", "crv": "P-256", "kid": s.kid, "use": "sig", "alg": s.method.Alg(),
			"x": b64(b[1:33]), "y": b64(b[33:])}
	}
	panic(fmt.Sprintf("unsupported key %T", s.key))
}

// testKeyMaterial is generated once per test binary: RSA keygen is slow
// under -race.
var testKeyMaterial = sync.OnceValue(func() (m struct {
	rsa, rsaOther *rsa.PrivateKey
	ec            *ecdsa.PrivateKey
}) {
	var err error
	if m.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if m.rsaOther, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if m.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return m
})

// rsaSigner is the IdP's RSA-2048 key, kid "rsa1".
func rsaSigner() signer {
	return signer{kid: "rsa1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa}
}

// ecSigner is the IdP's P-256 key, kid "ec1".
func ecSigner() signer {
	return signer{kid: "ec1", method: jwt.SigningMethodES256, key: testKeyMaterial().ec}
}

// otherRSASigner is a second RSA key under the given kid: a rotated-in key,
// or (with kid "rsa1") a forger's key.
func otherRSASigner(kid string) signer {
	return signer{kid: kid, method: jwt.SigningMethodRS256, key: testKeyMaterial().rsaOther}
}

// clientAuth is how the IdP expects the client to authenticate.
type clientAuth int

const (
	authPost  clientAuth = iota // client_secret_post: client_id and client_secret in the form
	authBasic                   // client_secret_basic: HTTP Basic, form-encoded id and secret
)

// idpConfig is the test IdP's behaviour; change it with idp.update.
type idpConfig struct {
	auth        clientAuth
	published   []signer // the JWKS
	signWith    signer   // key for ID tokens
	sub         string   // sub of ID tokens and userinfo
	userinfoSub string   // userinfo's sub when not "" (the mismatch test)
	rotate      bool     // refresh answers carry a new refresh token; the old one dies
	reuseCodes  bool     // benchmark mode: codes stay valid, and each code's answer is made once
	issuer      string   // issuer named by the discovery document when not ""

	// claimsHook may change the ID token's claims before signing.
	claimsHook func(jwt.MapClaims)
	// headerHook may change the ID token's JOSE header before signing.
	headerHook func(map[string]any)
	// rawIDToken, when set, makes the ID token from the claims itself
	// (for alg none, HMAC and malformed tokens).
	rawIDToken func(jwt.MapClaims) string
	// tokenHook may change a token endpoint answer (both grants) before it
	// is written.
	tokenHook func(map[string]any)
	// chunked writes token answers without Content-Length.
	chunked bool
}

// grant is what the authorize step remembered for a code.
type grant struct {
	clientID, redirectURI, state, nonce string
	challenge, challengeMethod          string
	answer                              []byte // reuseCodes: the answer, made once
}

// idp is the test identity provider.
type idp struct {
	tb    testing.TB
	srv   *httptest.Server
	mux   *http.ServeMux
	URL   string // issuer and base of every endpoint
	clock *clock

	mu            sync.Mutex
	cfg           idpConfig
	grants        map[string]*grant
	refreshTokens map[string]bool
	accessTokens  map[string]bool
	tokenForms    []url.Values // every form /token received
	tokenHeaders  []http.Header
	answers       []map[string]any // every token answer written
	revoked       []url.Values
	seq           int

	discoveryHits, jwksHits, tokenHits, userinfoHits, revokeHits atomic.Int64
}

// newIDP starts a test IdP publishing the RSA and EC keys and signing with
// the RSA key, with client_secret_post and refresh-token rotation. It stops
// when the test ends.
func newIDP(tb testing.TB) *idp {
	tb.Helper()
	p := &idp{
		tb:            tb,
		mux:           http.NewServeMux(),
		clock:         newClock(t0),
		grants:        map[string]*grant{},
		refreshTokens: map[string]bool{},
		accessTokens:  map[string]bool{},
		cfg: idpConfig{
			published: []signer{rsaSigner(), ecSigner()},
			signWith:  rsaSigner(),
			sub:       testSub,
			rotate:    true,
		},
	}
	p.mux.HandleFunc("GET /.well-known/openid-configuration", p.handleDiscovery)
	p.mux.HandleFunc("GET /jwks", p.handleJWKS)
	p.mux.HandleFunc("/token", p.handleToken)
	p.mux.HandleFunc("/userinfo", p.handleUserinfo)
	p.mux.HandleFunc("/revoke", p.handleRevoke)
	p.srv = httptest.NewServer(p.mux)
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

// handle adds a route for one test (a misbehaving endpoint).
func (p *idp) handle(pattern string, h http.HandlerFunc) { p.mux.HandleFunc(pattern, h) }

// update changes the IdP's behaviour.
func (p *idp) update(f func(c *idpConfig)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.cfg)
}

// config returns a copy of the current behaviour.
func (p *idp) config() idpConfig {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cfg
	c.published = append([]signer(nil), c.published...)
	return c
}

// authorize plays the authorization endpoint for the URL the engine built:
// it checks the client and remembers redirect_uri, state, nonce and the PKCE
// challenge under a fresh code, and returns the callback query the browser
// would bring back (code and state).
func (p *idp) authorize(authURL string) url.Values {
	p.tb.Helper()
	return p.authorizeCode(authURL, "")
}

// authorizeCode is authorize with a chosen code ("" for a fresh one).
func (p *idp) authorizeCode(authURL, code string) url.Values {
	p.tb.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		p.tb.Fatalf("authorize URL %q: %v", authURL, err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != p.URL+"/authorize" {
		p.tb.Fatalf("authorize URL goes to %q, want %q", got, p.URL+"/authorize")
	}
	q := u.Query()
	if q.Get("client_id") != testClientID || q.Get("response_type") != "code" {
		p.tb.Fatalf("authorize URL %q: want client_id=%s and response_type=code", authURL, testClientID)
	}
	g := &grant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), state: q.Get("state"),
		nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), challengeMethod: q.Get("code_challenge_method")}
	p.mu.Lock()
	if code == "" {
		p.seq++
		code = fmt.Sprintf("code-%d", p.seq)
	}
	p.grants[code] = g
	p.mu.Unlock()
	return url.Values{"code": {code}, "state": {g.state}}
}

// lastAnswer returns the last token endpoint answer written, or nil.
func (p *idp) lastAnswer() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.answers) == 0 {
		return nil
	}
	return p.answers[len(p.answers)-1]
}

// lastTokenRequest returns the form and headers of the last /token request.
func (p *idp) lastTokenRequest() (url.Values, http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokenForms) == 0 {
		return nil, nil
	}
	return p.tokenForms[len(p.tokenForms)-1], p.tokenHeaders[len(p.tokenHeaders)-1]
}

// revocations returns the forms /revoke received.
func (p *idp) revocations() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.revoked...)
}

// newToken returns a fresh opaque token with the given prefix.
func (p *idp) newToken(prefix string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return fmt.Sprintf("%s-%d-%s", prefix, p.seq, strings.Repeat("x", 8))
}

func (p *idp) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	p.discoveryHits.Add(1)
	iss := p.config().issuer
	if iss == "" {
		iss = p.URL
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": p.URL + "/authorize",
		"token_endpoint":         p.URL + "/token",
		"userinfo_endpoint":      p.URL + "/userinfo",
		"jwks_uri":               p.URL + "/jwks",
	})
}

func (p *idp) handleJWKS(w http.ResponseWriter, r *http.Request) {
	p.jwksHits.Add(1)
	var keys []map[string]any
	for _, s := range p.config().published {
		keys = append(keys, s.jwk())
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// clientOK checks the client authentication the IdP is configured for, and
// that the other method is not used at the same time (RFC 6749 §2.3).
func (p *idp) clientOK(r *http.Request, c idpConfig) bool {
	_, hasSecret := r.PostForm["client_secret"]
	switch c.auth {
	case authBasic:
		user, pass, ok := r.BasicAuth()
		if !ok || hasSecret {
			return false
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		return err1 == nil && err2 == nil && id == testClientID && secret == testClientSecret
	default:
		return r.Header.Get("Authorization") == "" && r.PostForm.Get("client_id") == testClientID &&
			r.PostForm.Get("client_secret") == testClientSecret && len(r.PostForm["client_secret"]) == 1
	}
}

func (p *idp) handleToken(w http.ResponseWriter, r *http.Request) {
	p.tokenHits.Add(1)
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Content-Type "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	p.mu.Lock()
	p.tokenForms = append(p.tokenForms, r.PostForm)
	p.tokenHeaders = append(p.tokenHeaders, r.Header.Clone())
	p.mu.Unlock()
	c := p.config()
	if !p.clientOK(r, c) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	gt := r.PostForm["grant_type"]
	if len(gt) != 1 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type must appear once")
		return
	}
	switch gt[0] {
	case "authorization_code":
		p.codeGrant(w, r.PostForm, c)
	case "refresh_token":
		p.refreshGrant(w, r.PostForm, c)
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", gt[0])
	}
}

// codeGrant answers grant_type=authorization_code: the code once, the same
// redirect_uri, and the PKCE verifier whose S256 is the remembered challenge.
func (p *idp) codeGrant(w http.ResponseWriter, form url.Values, c idpConfig) {
	if len(form["code"]) != 1 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code must appear once")
		return
	}
	code := form.Get("code")
	p.mu.Lock()
	g, ok := p.grants[code]
	if ok && !c.reuseCodes {
		delete(p.grants, code)
	}
	var cached []byte
	if ok {
		cached = g.answer
	}
	p.mu.Unlock()
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or used authorization code")
		return
	}
	if form.Get("redirect_uri") != g.redirectURI {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if g.challengeMethod != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
	}
	if cached != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Write(cached)
		return
	}
	answer := map[string]any{
		"access_token":  p.newToken("at"),
		"token_type":    "Bearer",
		"expires_in":    3600,
		"refresh_token": p.newToken("rt"),
		"scope":         "openid email profile",
		"id_token":      p.idToken(g, c),
	}
	body := p.answer(w, answer, c)
	if c.reuseCodes {
		p.mu.Lock()
		g.answer = body
		p.mu.Unlock()
	}
}

// refreshGrant answers grant_type=refresh_token, rotating the refresh token
// when configured.
func (p *idp) refreshGrant(w http.ResponseWriter, form url.Values, c idpConfig) {
	rt := form.Get("refresh_token")
	p.mu.Lock()
	ok := p.refreshTokens[rt]
	if ok && c.rotate {
		delete(p.refreshTokens, rt)
	}
	p.mu.Unlock()
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or revoked")
		return
	}
	answer := map[string]any{"access_token": p.newToken("at"), "token_type": "Bearer", "expires_in": 3600}
	if c.rotate {
		answer["refresh_token"] = p.newToken("rt")
	}
	p.answer(w, answer, c)
}

// answer registers the tokens of a token endpoint answer, lets tokenHook
// change it, and writes it as JSON.
func (p *idp) answer(w http.ResponseWriter, answer map[string]any, c idpConfig) []byte {
	if c.tokenHook != nil {
		c.tokenHook(answer)
	}
	p.mu.Lock()
	if at, ok := answer["access_token"].(string); ok {
		p.accessTokens[at] = true
	}
	if rt, ok := answer["refresh_token"].(string); ok {
		p.refreshTokens[rt] = true
	}
	p.answers = append(p.answers, answer)
	p.mu.Unlock()
	body, err := json.Marshal(answer)
	if err != nil {
		p.tb.Errorf("test IdP: %v", err)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	if c.chunked && len(body) > 1 {
		half := len(body) / 2
		w.Write(body[:half])
		w.(http.Flusher).Flush() // headers go out without Content-Length: chunked
		w.Write(body[half:])
		return body
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
	return body
}

// idToken makes the ID token for a grant: iss, aud, sub, exp, iat, nonce,
// email, changed by claimsHook, signed by signWith (or made by rawIDToken).
func (p *idp) idToken(g *grant, c idpConfig) string {
	now := p.clock.Now()
	claims := jwt.MapClaims{
		"iss":            p.URL,
		"aud":            g.clientID,
		"sub":            c.sub,
		"exp":            now.Add(time.Hour).Unix(),
		"iat":            now.Unix(),
		"email":          idTokenEmail,
		"email_verified": true,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if c.claimsHook != nil {
		c.claimsHook(claims)
	}
	if c.rawIDToken != nil {
		return c.rawIDToken(claims)
	}
	return c.signWith.sign(p.tb, claims, c.headerHook)
}

func (p *idp) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	p.userinfoHits.Add(1)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	valid := ok && p.accessTokens[tok]
	p.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "unknown access token")
		return
	}
	c := p.config()
	sub := c.sub
	if c.userinfoSub != "" {
		sub = c.userinfoSub
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": sub, "name": userinfoName, "email": userinfoEmail})
}

// handleRevoke records the form and answers 200 with an empty body
// (RFC 7009 §2.2).
func (p *idp) handleRevoke(w http.ResponseWriter, r *http.Request) {
	p.revokeHits.Add(1)
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	if !p.clientOK(r, p.config()) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	p.mu.Lock()
	p.revoked = append(p.revoked, r.PostForm)
	delete(p.refreshTokens, r.PostForm.Get("token"))
	delete(p.accessTokens, r.PostForm.Get("token"))
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeOAuthError writes an RFC 6749 §5.2 error answer.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
