package contract

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/jwk"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

var update = flag.Bool("update", false, "rewrite testdata/explain/*.golden")

const (
	contractsDir = "../../testdata/contracts"
	explainDir   = "../../testdata/explain"
	baseURI      = "https://app.example.com"
	postLogout   = "https://app.example.com/signed-out"
	defaultCode  = "contract-code"
)

// contract is one testdata/contracts/NAME.json: what the provider NAME
// documents, written from its documentation, not from the catalogue.
//
// Values in query, params and headers are literal, or one of:
//
//	"*"               present and not empty
//	"$client_id"      the contract's client_id
//	"$redirect_uri"   https://app.example.com/auth/NAME/callback
//	"$code"           the authorization code the test sends to the callback
//	"$code_verifier"  a PKCE verifier whose S256 is the login's code_challenge
//	"$nonce"          the nonce of the authorize redirect
//	"$id_token"       the ID token the server issued
//
// With signed_secret, a client_secret checked by client_auth is verified
// as a JWT with the public half of an env_keys key, not compared.
//
// In answers, a string "$id_token" becomes an ID token signed by the
// server's key (claims: id_token.claims, iss: id_token.issuer, aud: the
// client id, the login's nonce, iat, exp) and "json": "$jwks" the server's
// key set.
type contract struct {
	Sources      []string          `json:"sources"`       // the documentation the contract was written from
	ClientID     string            `json:"client_id"`     // the registered client
	ClientSecret string            `json:"client_secret"` // its secret; the strategy reads it from ${env.CLIENT_SECRET}
	Strategy     json.RawMessage   `json:"strategy"`      // the strategy a user writes, named after the built-in
	Env          map[string]string `json:"env"`           // more environment variables the strategy reads
	Code         string            `json:"code"`          // the authorization code; default "contract-code"
	Callback     map[string]string `json:"callback"`      // more callback parameters the provider sends
	Authorize    redirect          `json:"authorize"`
	Static       []exchange        `json:"static"`  // discovery documents and key sets: any time, any number of times
	Login        []exchange        `json:"login"`   // the callback's requests, in order
	Refresh      []exchange        `json:"refresh"` // absent: the provider documents no refresh
	Revoke       []exchange        `json:"revoke"`  // absent: no revocation
	Logout       *redirect         `json:"logout"`  // absent: no RP-initiated logout
	// Refusals are the provider's documented error answers to the code
	// exchange (the first login request), each of which must fail the login
	// with the error code given: quirks such as an error answered with 200.
	Refusals []struct {
		Answer answer `json:"answer"`
		Code   string `json:"code"`
	} `json:"refusals"`
	IDToken *struct {
		Issuer string         `json:"issuer"`
		Claims map[string]any `json:"claims"`
	} `json:"id_token"`
	Expect struct {
		Subject string                     `json:"sub"`
		Claims  map[string]json.RawMessage `json:"claims"`
	} `json:"expect"`

	// CallbackMode is how the provider sends the browser back: "" (a GET,
	// code and state in the query) or "form_post" (its page POSTs them as
	// a form, OAuth 2.0 Form Post Response Mode): the login then also runs
	// through the server, whose callback must take the POST and refuse a
	// GET (formpost_test.go).
	CallbackMode string `json:"callback_mode"`
	// EnvKeys are private keys the test makes for each run and gives the
	// strategy in the environment variable named, PEM: "P-256" (PKCS #8).
	EnvKeys map[string]string `json:"env_keys"`
	// SignedSecret, when set, says the client_secret is a JWT the client
	// signs (Apple): the server verifies it as described instead of
	// comparing it with client_secret (signedsecret_test.go).
	SignedSecret *signedSecret `json:"signed_secret"`
	// IDTokenVariants each run the login again with the ID token changed,
	// as the provider documents it may come (another tenant, a claim left
	// out), and say whether the login must fail or which claims it gives.
	IDTokenVariants []idTokenVariant `json:"id_token_variants"`
}

// redirect is a browser redirect: the authorize or the logout URL.
type redirect struct {
	URL    string            `json:"url"`   // scheme://host/path
	Query  map[string]string `json:"query"` // required parameters
	Absent []string          `json:"absent"`
	PKCE   string            `json:"pkce"` // "S256": required; "none": refused when sent
}

// exchange is one back-channel request the provider accepts, and its answer.
type exchange struct {
	Request string `json:"request"` // "POST https://host/path"
	// ClientAuth is how the provider authenticates the client here:
	// client_secret_basic, client_secret_post, json_body (client_id and
	// client_secret in a JSON body), none (client_id only, no secret
	// anywhere); "" for API calls, which the headers authorise.
	ClientAuth string            `json:"client_auth"`
	Body       string            `json:"body"`    // form, json or "" (none)
	Params     map[string]string `json:"params"`  // required body members
	Query      map[string]string `json:"query"`   // required query parameters
	Headers    map[string]string `json:"headers"` // required headers
	Absent     []string          `json:"absent"`  // body members the provider refuses
	Answer     answer            `json:"answer"`
}

// answer is a canned answer.
type answer struct {
	Status      int             `json:"status"` // default 200
	ContentType string          `json:"content_type"`
	JSON        json.RawMessage `json:"json"`
	Body        string          `json:"body"`
}

// TestContracts runs every built-in against its contract.
func TestContracts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(contractsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, f := range files {
		have[strings.TrimSuffix(filepath.Base(f), ".json")] = f
	}
	var builtins []string
	for _, b := range strategies.Catalogue() {
		builtins = append(builtins, b.Name)
		if have[b.Name] == "" {
			t.Errorf("built-in %q has no %s/%s.json: write one from the provider's documentation (see internal/contract)", b.Name, contractsDir, b.Name)
		}
	}
	for name := range have {
		if !slices.Contains(builtins, name) {
			t.Errorf("%s.json names no built-in", name)
		}
	}
	for _, name := range builtins {
		if have[name] == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(have[name])
			if err != nil {
				t.Fatal(err)
			}
			var c contract
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("%s: %v", have[name], err)
			}
			run(t, name, &c)
		})
	}
}

// run plays the whole plan of the built-in name against the contract and
// compares its explain output with the golden file.
func run(t *testing.T, name string, c *contract) {
	if len(c.Sources) == 0 {
		t.Errorf("the contract names no source")
	}
	explain, findings := play(name, c, c.Strategy)
	for _, f := range findings {
		t.Error(f)
	}
	if explain != nil {
		golden(t, filepath.Join(explainDir, name+".golden"), explain)
	}
}

// play runs the whole plan of the built-in name, as the strategy (a user's
// entry for it) configures it, against the contract's provider. It returns
// the strategy's explain output and every way the plan falls short of the
// contract; none means the built-in keeps the contract.
func play(name string, c *contract, strategy json.RawMessage) (explain []byte, findings []string) {
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	file := fmt.Sprintf(`{"base_uri": %q, "strategies": {%q: %s}}`, baseURI, name, strategy)
	plan, err := strategies.Parse(name+".json", []byte(file))
	if err != nil {
		return nil, []string{fmt.Sprintf("the contract's strategy: %v", err)}
	}
	sp := plan.Strategy(name)
	if sp == nil || !sp.Definition().Builtin {
		return nil, []string{fmt.Sprintf("the contract's strategy does not extend the built-in %q", name)}
	}
	var b bytes.Buffer
	if err := strategies.Explain(&b, sp); err != nil {
		return nil, []string{fmt.Sprintf("explain: %v", err)}
	}
	explain = b.Bytes()

	p := newProvider(name, c)
	srv := httptest.NewServer(p)
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	e, err := engine.New(plan, engine.Options{
		HTTPClient: &http.Client{Transport: &hostRewriter{target: target}},
		LookupEnv: func(k string) (string, bool) {
			if v, ok := p.envPEM[k]; ok {
				return v, true
			}
			if k == "CLIENT_SECRET" {
				return c.ClientSecret, true
			}
			v, ok := c.Env[k]
			return v, ok
		},
	})
	if err != nil {
		return explain, append(out, fmt.Sprintf("engine: %v%s", err, p.failures()))
	}
	defer e.Close()
	s := e.Strategy(name)
	ctx := context.Background()

	// A form_post callback, through the server (formpost_test.go).
	switch {
	case c.CallbackMode != "" && c.CallbackMode != "form_post":
		return explain, append(out, fmt.Sprintf("contract: callback_mode %q: want form_post or nothing", c.CallbackMode))
	case c.CallbackMode == "form_post" && !s.FormPost():
		fail("the provider POSTs the callback as a form (response_mode=form_post); the built-in's callback takes a GET")
	case c.CallbackMode == "" && s.FormPost():
		fail("the built-in's callback takes only a form POST (response_mode form_post); the contract's provider returns with a GET")
	case c.CallbackMode == "form_post":
		out = append(out, p.formPostLogin(e, s)...)
	}

	// The authorize redirect.
	l := s.NewLogin()
	u, err := s.AuthCodeURL(l)
	if err != nil {
		return explain, append(out, fmt.Sprintf("authorize: %v", err))
	}
	p.checkRedirect("authorize", c.Authorize, u)
	if f := p.failures(); f != "" {
		return explain, append(out, strings.TrimPrefix(f, "\n"))
	}

	// The callback and its steps.
	p.begin("login", c.Login)
	q := url.Values{"code": {p.code}, "state": {l.State}}
	for k, v := range c.Callback {
		q.Set(k, v)
	}
	res, err := s.Exchange(ctx, l, q)
	p.end()
	if err != nil {
		return explain, append(out, fmt.Sprintf("login: %v%s", err, p.failures()))
	}
	if res.Subject() != c.Expect.Subject {
		fail("subject %q, want %q", res.Subject(), c.Expect.Subject)
	}
	for _, k := range sortedKeys(rawKeys(c.Expect.Claims)) {
		got, _ := json.Marshal(res.Claims[k])
		if !jsonEqual(got, c.Expect.Claims[k]) {
			fail("claim %s = %s, want %s", k, got, c.Expect.Claims[k])
		}
	}
	tokens := res.Tokens

	// Refresh.
	switch {
	case c.Refresh == nil && s.CanRefresh():
		fail("the built-in has a refresh step; the contract documents no refresh")
	case c.Refresh != nil && !s.CanRefresh():
		fail("the provider documents refresh; the built-in has no refresh step")
	case c.Refresh != nil:
		if tokens.RefreshToken == "" {
			return explain, append(out, "the contract's token answer has no refresh_token, so refresh cannot run")
		}
		p.begin("refresh", c.Refresh)
		nt, err := s.Refresh(ctx, tokens)
		p.end()
		if err != nil {
			return explain, append(out, fmt.Sprintf("refresh: %v%s", err, p.failures()))
		}
		if nt.AccessToken == tokens.AccessToken {
			fail("refresh kept the old access token")
		}
		tokens = nt
	}

	// Revoke.
	hasRevoke := s.Definition().Step(strategies.StepRevoke) != nil && s.LeftOut()[strategies.StepRevoke] == ""
	switch {
	case c.Revoke == nil && hasRevoke:
		fail("the built-in has a revoke step; the contract documents no revocation")
	case c.Revoke != nil && !hasRevoke:
		fail("the provider documents revocation; the built-in has no revoke step")
	case c.Revoke != nil:
		p.begin("revoke", c.Revoke)
		err := s.Revoke(ctx, tokens)
		p.end()
		if err != nil {
			return explain, append(out, fmt.Sprintf("revoke: %v%s", err, p.failures()))
		}
	}

	// RP-initiated logout.
	lu, err := s.LogoutURL(tokens.IDToken, postLogout)
	switch {
	case err != nil:
		fail("logout: %v", err)
	case lu != "" && c.Logout == nil:
		fail("the built-in redirects to %s at sign-out; the contract documents no logout", lu)
	case lu == "" && c.Logout != nil:
		fail("the provider documents RP-initiated logout at %s; the built-in has no logout_uri", c.Logout.URL)
	case lu != "":
		p.mu.Lock()
		p.idToken = tokens.IDToken
		p.mu.Unlock()
		p.checkRedirect("logout", *c.Logout, lu)
	}
	if f := p.failures(); f != "" {
		out = append(out, strings.TrimPrefix(f, "\n"))
	}

	// The documented refusals of the code exchange.
	for i, r := range c.Refusals {
		if len(c.Login) == 0 {
			break
		}
		l := s.NewLogin()
		u, err := s.AuthCodeURL(l)
		if err != nil {
			return explain, append(out, fmt.Sprintf("refusal %d: authorize: %v", i+1, err))
		}
		p.checkRedirect("authorize", c.Authorize, u)
		x := c.Login[0]
		x.Answer = r.Answer
		p.begin("refusal", []exchange{x})
		_, err = s.Exchange(ctx, l, url.Values{"code": {p.code}, "state": {l.State}})
		p.mu.Lock()
		p.next = 1 // the steps after the refused one are not expected
		p.mu.Unlock()
		p.end()
		var pe *engine.ProviderError
		if !errors.As(err, &pe) || string(pe.Code) != r.Code {
			fail("refusal %d: the provider answers %s; the login must fail with %q, got %v", i+1, clip(string(r.Answer.JSON)), r.Code, err)
		}
		if f := p.failures(); f != "" {
			out = append(out, strings.TrimPrefix(f, "\n"))
		}
	}

	// The documented variants of the ID token.
	for i := range c.IDTokenVariants {
		out = append(out, p.playVariant(ctx, s, i)...) // variants_test.go
	}
	return explain, out
}

func rawKeys(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}

// provider is the httptest stand-in for one provider: it serves the
// contract's static documents at any time and the requests of the current
// phase in order, and records every way a request falls short.
type provider struct {
	name     string
	c        *contract
	key      *rsa.PrivateKey
	code     string
	redirect string

	mu        sync.Mutex
	phase     string
	want      []exchange
	next      int
	nonce     string
	challenge string
	idToken   string
	variant   *idTokenVariant // the ID token variant being played; nil: none
	problems  []string

	envKeys map[string]*ecdsa.PrivateKey // env_keys, by variable name
	envPEM  map[string]string            // their PEM text
}

func newProvider(name string, c *contract) *provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	code := c.Code
	if code == "" {
		code = defaultCode
	}
	p := &provider{name: name, c: c, key: key, code: code, redirect: baseURI + "/auth/" + name + "/callback",
		envKeys: map[string]*ecdsa.PrivateKey{}, envPEM: map[string]string{}}
	p.makeEnvKeys() // signedsecret_test.go
	return p
}

func (p *provider) failf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// failures returns the problems recorded so far, each on a line of its own,
// and forgets them.
func (p *provider) failures() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) == 0 {
		return ""
	}
	out := "\n" + p.name + ": " + strings.Join(p.problems, "\n"+p.name+": ")
	p.problems = nil
	return out
}

func (p *provider) begin(phase string, want []exchange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.want, p.next = phase, want, 0
}

// end checks that the phase made every request the contract expects.
func (p *provider) end() {
	p.mu.Lock()
	phase, missing := p.phase, p.want[p.next:]
	p.phase, p.want, p.next = "", nil, 0
	p.mu.Unlock()
	for _, x := range missing {
		p.failf("%s: the provider expected %s, which was never sent", phase, x.Request)
	}
}

// checkRedirect checks a browser redirect against the contract, and
// remembers the authorize redirect's nonce and PKCE challenge.
func (p *provider) checkRedirect(what string, want redirect, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		p.failf("%s: %q is not a URL: %v", what, raw, err)
		return
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != want.URL {
		p.failf("%s: redirect to %s, want %s", what, got, want.URL)
	}
	q := u.Query()
	if what == "authorize" {
		p.mu.Lock()
		p.nonce, p.challenge = q.Get("nonce"), q.Get("code_challenge")
		p.mu.Unlock()
	}
	p.checkValues(what+": query", want.Query, q)
	for _, k := range want.Absent {
		if q.Has(k) {
			p.failf("%s: query has %s=%q, which the provider does not accept", what, k, q.Get(k))
		}
	}
	switch want.PKCE {
	case "S256":
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
			p.failf("%s: the provider requires PKCE S256; got code_challenge %q, code_challenge_method %q", what, q.Get("code_challenge"), q.Get("code_challenge_method"))
		}
	case "none":
		if q.Has("code_challenge") || q.Has("code_challenge_method") {
			p.failf("%s: the provider documents no PKCE for this client, got code_challenge %q", what, q.Get("code_challenge"))
		}
	case "":
	default:
		p.failf("%s: contract: pkce %q: want S256, none or nothing", what, want.PKCE)
	}
}

// value resolves a contract value that names a login value; ok is false for
// "*" and "$code_verifier", which are checked, not compared.
func (p *provider) value(v string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch v {
	case "*", "$code_verifier":
		return "", false
	case "$client_id":
		return p.c.ClientID, true
	case "$redirect_uri":
		return p.redirect, true
	case "$code":
		return p.code, true
	case "$nonce":
		return p.nonce, true
	case "$id_token":
		return p.idToken, true
	}
	return v, true
}

// checkValues checks required parameters against what was sent.
func (p *provider) checkValues(what string, want map[string]string, got url.Values) {
	for _, k := range sortedKeys(want) {
		w := want[k]
		g, present := got.Get(k), got.Has(k)
		switch {
		case !present:
			p.failf("%s: %s is missing (want %s)", what, k, w)
		case w == "*":
			if g == "" {
				p.failf("%s: %s is empty", what, k)
			}
		case w == "$code_verifier":
			p.mu.Lock()
			challenge := p.challenge
			p.mu.Unlock()
			sum := sha256.Sum256([]byte(g))
			if challenge == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				p.failf("%s: %s=%q does not match the code_challenge %q of the authorize redirect", what, k, g, challenge)
			}
		default:
			if v, _ := p.value(w); g != v {
				p.failf("%s: %s=%q, want %q", what, k, g, v)
			}
		}
	}
}

// ServeHTTP answers one back-channel request.
func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	line := r.Method + " https://" + r.Header.Get(originalHost) + r.URL.Path
	for _, x := range p.c.Static {
		if x.Request == line {
			p.answer(w, x)
			return
		}
	}
	p.mu.Lock()
	phase := p.phase
	var x *exchange
	n := p.next
	if n < len(p.want) {
		x = &p.want[n]
		p.next++
	}
	p.mu.Unlock()
	if x == nil {
		p.failf("%s: unexpected request %s: the provider expects no more requests here", orNone(phase), line)
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	what := fmt.Sprintf("%s request %d (%s)", phase, n+1, x.Request)
	if line != x.Request {
		p.failf("%s: got %s: wrong method or path", what, line)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if !p.check(what, x, r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_request","error_description":"the contract test refused the request"}`)
		return
	}
	p.answer(w, *x)
}

// check checks one request against the exchange the provider expects, and
// reports whether it passed.
func (p *provider) check(what string, x *exchange, r *http.Request) bool {
	before := p.count()
	raw, _ := io.ReadAll(r.Body)
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	body := url.Values{}
	switch x.Body {
	case "form":
		if ct != "application/x-www-form-urlencoded" {
			p.failf("%s: Content-Type %q, want a form (application/x-www-form-urlencoded)", what, ct)
		}
		body, _ = url.ParseQuery(string(raw))
	case "json":
		if ct != "application/json" {
			p.failf("%s: Content-Type %q, want application/json", what, ct)
		}
		if !gjson.ValidBytes(raw) || !gjson.ParseBytes(raw).IsObject() {
			p.failf("%s: the body is not a JSON object: %q", what, raw)
		}
		gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
			body.Set(k.String(), v.String())
			return true
		})
	case "":
		if len(raw) != 0 {
			p.failf("%s: the provider expects no body, got %q", what, clip(string(raw)))
		}
	default:
		p.failf("%s: contract: body %q: want form, json or nothing", what, x.Body)
	}
	p.checkValues(what+": body", x.Params, body)
	p.checkValues(what+": query", x.Query, r.URL.Query())
	for _, k := range x.Absent {
		if body.Has(k) {
			p.failf("%s: body has %s, which the provider refuses here", what, k)
		}
	}
	for _, k := range sortedKeys(x.Headers) {
		want, got := x.Headers[k], r.Header.Get(k)
		switch {
		case got == "":
			p.failf("%s: header %s is missing", what, k)
		case want == "*":
		default:
			if want = expandToken(want, p); got != want {
				p.failf("%s: header %s: %q, want %q", what, k, got, want)
			}
		}
	}
	p.checkClientAuth(what, x.ClientAuth, r, body)
	return p.count() == before
}

// expandToken replaces $id_token inside a header value.
func expandToken(v string, p *provider) string {
	if strings.Contains(v, "$id_token") {
		tok, _ := p.value("$id_token")
		v = strings.ReplaceAll(v, "$id_token", tok)
	}
	return v
}

func (p *provider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.problems)
}

// checkClientAuth checks the client authentication method (RFC 6749
// §2.3.1, OpenID Connect Core §9).
func (p *provider) checkClientAuth(what, method string, r *http.Request, body url.Values) {
	id := p.c.ClientID
	user, pass, basic := r.BasicAuth()
	if basic {
		user, _ = url.QueryUnescape(user)
		pass, _ = url.QueryUnescape(pass)
	}
	secretInBody := body.Has("client_secret")
	switch method {
	case "client_secret_basic":
		if !basic || user != id || !p.secretOK(what, pass) {
			p.failf("%s: client authentication: the provider wants HTTP Basic with the client id and secret (client_secret_basic); got Basic %v, body client_id %q, client_secret in the body %v", what, basic, body.Get("client_id"), secretInBody)
		}
		if secretInBody {
			p.failf("%s: client authentication: client_secret in the body as well as in Basic; the provider takes one method", what)
		}
	case "client_secret_post", "json_body":
		if body.Get("client_id") != id || !p.secretOK(what, body.Get("client_secret")) {
			p.failf("%s: client authentication: the provider wants client_id and client_secret in the body (%s); got body client_id %q, client_secret present %v, Basic %v", what, method, body.Get("client_id"), secretInBody, basic)
		}
		if basic && secretInBody {
			p.failf("%s: client authentication: HTTP Basic as well as the body; the provider takes one method", what)
		}
	case "none":
		if body.Get("client_id") != id {
			p.failf("%s: client authentication: the provider wants client_id %q in the body, got %q", what, id, body.Get("client_id"))
		}
		if basic || secretInBody {
			p.failf("%s: client authentication: the provider takes no secret here (Basic %v, client_secret in the body %v)", what, basic, secretInBody)
		}
	case "":
		if basic || secretInBody {
			p.failf("%s: the client secret is sent to an API call that takes none", what)
		}
	default:
		p.failf("%s: contract: client_auth %q unknown", what, method)
	}
}

// answer writes the contract's canned answer.
func (p *provider) answer(w http.ResponseWriter, x exchange) {
	status := x.Answer.Status
	if status == 0 {
		status = http.StatusOK
	}
	body := []byte(x.Answer.Body)
	ct := x.Answer.ContentType
	switch {
	case string(x.Answer.JSON) == `"$jwks"`:
		body = p.jwks()
	case len(x.Answer.JSON) > 0:
		var v any
		if err := json.Unmarshal(x.Answer.JSON, &v); err != nil {
			p.failf("contract: answer of %s: %v", x.Request, err)
		}
		body, _ = json.Marshal(p.fill(v))
	}
	if ct == "" && (len(x.Answer.JSON) > 0) {
		ct = "application/json"
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	w.Write(body)
}

// fill replaces "$id_token" in an answer with a freshly signed ID token.
func (p *provider) fill(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = p.fill(e)
		}
	case []any:
		for i, e := range x {
			x[i] = p.fill(e)
		}
	case string:
		if x == "$id_token" {
			return p.signIDToken()
		}
	}
	return v
}

func (p *provider) signIDToken() string {
	if p.c.IDToken == nil {
		p.failf("contract: an answer holds $id_token but the contract has no id_token")
		return ""
	}
	now := time.Now()
	claims := jwt.MapClaims{"iss": p.c.IDToken.Issuer, "aud": p.c.ClientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range p.c.IDToken.Claims {
		claims[k] = v
	}
	p.mu.Lock()
	if v := p.variant; v != nil {
		if v.Issuer != "" {
			claims["iss"] = v.Issuer
		}
		for k, x := range v.Claims {
			if x == nil {
				delete(claims, k)
			} else {
				claims[k] = x
			}
		}
	}
	if p.nonce != "" {
		claims["nonce"] = p.nonce
	}
	p.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "contract-key"
	raw, err := tok.SignedString(p.key)
	if err != nil {
		p.failf("sign: %v", err)
	}
	p.mu.Lock()
	p.idToken = raw
	p.mu.Unlock()
	return raw
}

func (p *provider) jwks() []byte {
	k, _ := jwk.Marshal(&p.key.PublicKey, "contract-key", "RS256")
	return append(append([]byte(`{"keys":[`), k...), "]}"...)
}

// originalHost carries the host a request was meant for to the test server.
const originalHost = "X-Contract-Original-Host"

// hostRewriter sends every request to the test server, whatever its host.
type hostRewriter struct{ target *url.URL }

func (h *hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(originalHost, r.URL.Host)
	r.URL.Scheme, r.URL.Host = h.target.Scheme, h.target.Host
	r.Host = h.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/contract -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("authflow explain differs from %s (go test ./internal/contract -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orNone(phase string) string {
	if phase == "" {
		return "outside any phase"
	}
	return phase
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
