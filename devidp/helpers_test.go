package devidp_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

// The registered test clients and users. The web client's secret holds
// characters that client_secret_basic must form-encode (RFC 6749 §2.3.1).
const (
	webClient   = "web"
	webSecret   = "web:s3cr3t/+@"
	postClient  = "post"
	postSecret  = "post-secret"
	spaClient   = "spa"
	callback    = "https://app.example.test/auth/dev/callback"
	spaCallback = "http://127.0.0.1:9/spa/callback"
	signedOut   = "https://app.example.test/signed-out"
)

var (
	ada = devidp.User{
		ID: "user-ada", Username: "ada", Password: "ada-password",
		Email: "ada@example.test", EmailVerified: true, Name: "Ada Lovelace",
		Groups: []string{"admins", "devs"},
	}
	bob = devidp.User{Username: "bob", Password: "bob-password", Email: "bob@example.test"}
)

// client authentications at the token and revocation endpoints.
var (
	webAuth  = clientAuth{id: webClient, secret: webSecret, method: "basic"}
	postAuth = clientAuth{id: postClient, secret: postSecret, method: "post"}
	spaAuth  = clientAuth{id: spaClient, method: "none"}
)

// clientAuth is how a test request authenticates its client.
type clientAuth struct {
	id, secret string
	method     string // basic, post or none
}

// apply adds the client's credentials to a form request.
func (c clientAuth) apply(req *http.Request, form url.Values) {
	switch c.method {
	case "basic":
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	case "post":
		form.Set("client_id", c.id)
		form.Set("client_secret", c.secret)
	default:
		form.Set("client_id", c.id)
	}
}

// idp is a Provider behind an httptest server, with a browser-like client.
type idp struct {
	*devidp.Provider
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
}

// defaultOptions registers the test clients and users.
func defaultOptions() devidp.Options {
	return devidp.Options{
		Clients: []devidp.Client{
			{ID: webClient, Secret: webSecret, RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{signedOut}},
			{ID: postClient, Secret: postSecret, AuthMethod: "client_secret_post", RedirectURIs: []string{callback}},
			{ID: spaClient, RedirectURIs: []string{spaCallback}},
		},
		Users: []devidp.User{ada, bob},
	}
}

// start runs a Provider configured by defaultOptions, changed by mutate.
func start(t *testing.T, mutate func(*devidp.Options)) *idp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	opts := defaultOptions()
	opts.Issuer = "http://" + srv.Listener.Addr().String()
	if mutate != nil {
		mutate(&opts)
	}
	p, err := devidp.New(opts)
	if err != nil {
		srv.Close()
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return &idp{Provider: p, t: t, srv: srv, client: browser(t)}
}

// browser returns an HTTP client with a cookie jar, as a browser has.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// flow holds one login's per-request secrets.
type flow struct {
	state, nonce, verifier string
}

// newFlow returns fresh random state, nonce and PKCE verifier.
func newFlow() flow {
	return flow{state: random(), nonce: random(), verifier: random() + random()}
}

// random returns a random base64url string.
func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// challenge is the S256 code challenge of the flow's verifier (RFC 7636).
func (f flow) challenge() string {
	sum := sha256.Sum256([]byte(f.verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL builds an authorization request with the flow's state, nonce
// and PKCE challenge; extra overrides or adds parameters ("" deletes).
func (i *idp) authorizeURL(clientID, redirectURI, scope string, f flow, extra map[string]string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {scope},
		"state":                 {f.state},
		"nonce":                 {f.nonce},
		"code_challenge":        {f.challenge()},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return i.Issuer() + "/authorize?" + q.Encode()
}

// login signs user in for clientID and returns the code, checking that the
// Provider sent the browser to redirectURI with the flow's state.
func (i *idp) login(clientID, redirectURI, scope string, f flow, user devidp.User) string {
	i.t.Helper()
	back, err := i.Login(context.Background(), i.client, i.authorizeURL(clientID, redirectURI, scope, f, nil), user.Username, user.Password)
	if err != nil {
		i.t.Fatalf("Login: %v", err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI {
		i.t.Fatalf("Login ended at %s, want the redirect URI %s", back, redirectURI)
	}
	q := back.Query()
	if q.Get("error") != "" || q.Get("code") == "" {
		i.t.Fatalf("Login redirect %s: want a code", back)
	}
	if q.Get("state") != f.state {
		i.t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	return q.Get("code")
}

// postForm POSTs form to the issuer-relative path with c's credentials and
// decodes the JSON answer (nil when empty).
func (i *idp) postForm(path string, form url.Values, c clientAuth) (int, map[string]any) {
	i.t.Helper()
	req, err := http.NewRequest(http.MethodPost, i.Issuer()+path, nil)
	if err != nil {
		i.t.Fatal(err)
	}
	c.apply(req, form)
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	req.ContentLength = int64(len(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return i.do(req)
}

// do sends req and decodes a JSON answer.
func (i *idp) do(req *http.Request) (int, map[string]any) {
	i.t.Helper()
	resp, err := i.srv.Client().Do(req)
	if err != nil {
		i.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		i.t.Fatal(err)
	}
	var m map[string]any
	if len(strings.TrimSpace(string(body))) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &m); err != nil {
			i.t.Fatalf("%s %s: %v in %s", req.Method, req.URL, err, body)
		}
	}
	if m == nil && resp.StatusCode >= 400 {
		m = map[string]any{"body": string(body)}
	}
	return resp.StatusCode, m
}

// exchange redeems a code at the token endpoint.
func (i *idp) exchange(code, verifier, redirectURI string, c clientAuth) (int, map[string]any) {
	i.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return i.postForm("/oauth/token", form, c)
}

// mustExchange redeems a code and fails the test unless tokens come back.
func (i *idp) mustExchange(code, verifier, redirectURI string, c clientAuth) map[string]any {
	i.t.Helper()
	status, tok := i.exchange(code, verifier, redirectURI, c)
	if status != http.StatusOK {
		i.t.Fatalf("code exchange: %d %v", status, tok)
	}
	return tok
}

// refresh uses a refresh token.
func (i *idp) refresh(refreshToken string, c clientAuth) (int, map[string]any) {
	i.t.Helper()
	return i.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, c)
}

// revoke revokes a token (RFC 7009).
func (i *idp) revoke(token, hint string, c clientAuth) (int, map[string]any) {
	i.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return i.postForm("/revoke", form, c)
}

// userinfo calls the UserInfo endpoint with a bearer token.
func (i *idp) userinfo(accessToken string) (int, map[string]any) {
	i.t.Helper()
	req, err := http.NewRequest(http.MethodGet, i.Issuer()+"/userinfo", nil)
	if err != nil {
		i.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return i.do(req)
}

// getJSON GETs an issuer-relative path and decodes the JSON answer.
func (i *idp) getJSON(path string) map[string]any {
	i.t.Helper()
	req, err := http.NewRequest(http.MethodGet, i.Issuer()+path, nil)
	if err != nil {
		i.t.Fatal(err)
	}
	status, m := i.do(req)
	if status != http.StatusOK {
		i.t.Fatalf("GET %s: %d %v", path, status, m)
	}
	return m
}

// verifyIDToken checks an ID token's signature against the JWKS (with
// golang-jwt and the test kit's key set, independently of the op package), its alg, iss,
// aud and exp, and returns its claims and header.
func (i *idp) verifyIDToken(raw, alg, clientID string) (jwt.MapClaims, map[string]any) {
	i.t.Helper()
	set, err := authtest.FetchKeySet(i.t.Context(), i.srv.Client(), i.Issuer()+"/keys")
	if err != nil {
		i.t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, set.Keyfunc,
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(i.Issuer()),
		jwt.WithAudience(clientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err != nil {
		i.t.Fatalf("ID token does not verify: %v", err)
	}
	return claims, tok.Header
}

// str returns m[key] as a string ("" when absent or not a string).
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
