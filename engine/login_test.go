package engine_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
)

// TestLogin runs the whole login against the test IdP: authorize URL, the
// IdP's authorize step, the callback, token exchange with PKCE, ID token
// verification and userinfo, for both client authentication methods, both
// key types, and both ways of finding the keys.
func TestLogin(t *testing.T) {
	t.Parallel()
	auths := []struct {
		name string
		a    clientAuth
	}{{"client_secret_post", authPost}, {"client_secret_basic", authBasic}}
	keys := []struct {
		name string
		s    signer
	}{{"RS256", rsaSigner()}, {"ES256", ecSigner()}}
	finds := []struct {
		name, step string
		discovery  bool
	}{{"jwks_uri", jwtStepJWKS, false}, {"discovery", jwtStepDiscovery, true}}

	for _, auth := range auths {
		for _, key := range keys {
			for _, find := range finds {
				t.Run(auth.name+"/"+key.name+"/"+find.name, func(t *testing.T) {
					p := newIDP(t)
					p.update(func(c *idpConfig) { c.auth, c.signWith = auth.a, key.s })
					s := p.strategy(t, stratFile(`"claims": {"email": "email", "name": "name", "granted": "token.scope"}`,
						tokenStep(auth.a), find.step, userinfoStep))
					l, cb := p.begin(t, s)

					res, err := s.Exchange(t.Context(), l, cb)
					if err != nil {
						t.Fatalf("Exchange: %v", err)
					}

					// What the token endpoint received.
					form, hdr := p.lastTokenRequest()
					wantForm := map[string]string{"grant_type": "authorization_code", "code": cb.Get("code"),
						"redirect_uri": "https://app.test/auth/acme/callback", "code_verifier": l.CodeVerifier}
					for k, v := range wantForm {
						if got := form[k]; len(got) != 1 || got[0] != v {
							t.Errorf("token form %s = %q, want [%q]", k, got, v)
						}
					}
					switch auth.a {
					case authBasic:
						if !strings.HasPrefix(hdr.Get("Authorization"), "Basic ") || form.Has("client_secret") {
							t.Errorf("client_secret_basic: Authorization %q, form %v", hdr.Get("Authorization"), form)
						}
					case authPost:
						if hdr.Get("Authorization") != "" || form.Get("client_secret") != testClientSecret {
							t.Errorf("client_secret_post: Authorization %q, form %v", hdr.Get("Authorization"), form)
						}
					}

					// The user object: the ID token's claims, userinfo merged in.
					var user map[string]any
					if err := json.Unmarshal(res.User, &user); err != nil {
						t.Fatalf("User is not a JSON object: %v: %s", err, res.User)
					}
					wantUser := map[string]any{
						"sub":            testSub,
						"iss":            p.URL,
						"aud":            testClientID,
						"nonce":          l.Nonce,
						"email":          userinfoEmail, // userinfo's fields win
						"name":           userinfoName,  // only userinfo has it
						"email_verified": true,          // only the ID token has it
						"iat":            float64(t0.Unix()),
						"exp":            float64(t0.Add(time.Hour).Unix()),
					}
					if !reflect.DeepEqual(user, wantUser) {
						t.Errorf("User = %v\nwant   %v", user, wantUser)
					}
					if res.Strategy != testStrategy || res.Subject() != testSub {
						t.Errorf("Strategy %q, Subject() %q; want %q, %q", res.Strategy, res.Subject(), testStrategy, testSub)
					}
					wantClaims := map[string]any{"email": userinfoEmail, "name": userinfoName, "granted": "openid email profile"}
					if !reflect.DeepEqual(res.Claims, wantClaims) {
						t.Errorf("Claims = %v, want %v", res.Claims, wantClaims)
					}

					// The tokens: the IdP's answer, expiry from expires_in on the engine's clock.
					ans := p.lastAnswer()
					wantTok := engine.Tokens{AccessToken: ans["access_token"].(string), TokenType: "Bearer",
						RefreshToken: ans["refresh_token"].(string), IDToken: ans["id_token"].(string), Expiry: t0.Add(3600 * time.Second), Issued: t0}
					if !reflect.DeepEqual(res.Tokens, wantTok) {
						t.Errorf("Tokens = %+v\nwant     %+v", res.Tokens, wantTok)
					}

					wantDisc := int64(0)
					if find.discovery {
						wantDisc = 1
					}
					if d, j, u := p.discoveryHits.Load(), p.jwksHits.Load(), p.userinfoHits.Load(); d != wantDisc || j != 1 || u != 1 {
						t.Errorf("hits: discovery %d, jwks %d, userinfo %d; want %d, 1, 1", d, j, u, wantDisc)
					}
				})
			}
		}
	}
}

// base64url is the alphabet of state, nonce and the PKCE verifier.
var base64url = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// TestAuthCodeURL checks the authorize URL: the template's parameters
// query-escaped, and state, nonce and the S256 challenge added, each once.
func TestAuthCodeURL(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, oidcFile(authPost))
	l := s.NewLogin()
	for name, v := range map[string]string{"State": l.State, "Nonce": l.Nonce, "CodeVerifier": l.CodeVerifier} {
		if !base64url.MatchString(v) {
			t.Errorf("Login.%s = %q, want 43 base64url characters (32 random bytes)", name, v)
		}
	}
	if l2 := s.NewLogin(); l2.State == l.State || l2.Nonce == l.Nonce || l2.CodeVerifier == l.CodeVerifier {
		t.Errorf("two logins share a secret: %+v, %+v", l, l2)
	}
	sum := sha256.Sum256([]byte(l.CodeVerifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if l.CodeChallenge() != challenge {
		t.Errorf("CodeChallenge() = %q, want BASE64URL(SHA256(verifier)) = %q", l.CodeChallenge(), challenge)
	}

	raw, err := s.AuthCodeURL(l)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != p.URL+"/authorize" {
		t.Errorf("endpoint %q, want %q", got, p.URL+"/authorize")
	}
	want := url.Values{
		"response_type":         {"code"},
		"client_id":             {testClientID},
		"redirect_uri":          {"https://app.test/auth/acme/callback"},
		"scope":                 {defaultScope},
		"state":                 {l.State},
		"nonce":                 {l.Nonce},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	if got := u.Query(); !reflect.DeepEqual(got, want) {
		t.Errorf("query = %v\nwant    %v", got, want)
	}
	for _, frag := range []string{"redirect_uri=https%3A%2F%2Fapp.test%2Fauth%2Facme%2Fcallback", "scope=openid+email+profile+offline_access"} {
		if !strings.Contains(u.RawQuery, frag) {
			t.Errorf("raw query %q lacks %q", u.RawQuery, frag)
		}
	}
	if s.RedirectURI() != "https://app.test/auth/acme/callback" || s.RedirectPath() != "/auth/acme/callback" {
		t.Errorf("RedirectURI %q, RedirectPath %q", s.RedirectURI(), s.RedirectPath())
	}
}

// TestAuthCodeURLPlacement checks that what the template places itself is
// not added again, and that opting out of PKCE and nonce drops them.
func TestAuthCodeURLPlacement(t *testing.T) {
	t.Parallel()
	const base = "{{IDP}}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}"
	tokenNoPKCE := postStep("token", "{{IDP}}/token", authPost,
		`"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}"`)
	tests := []struct {
		name      string
		authURI   string
		scope     string
		extra     string
		token     string
		wantKeys  []string // query keys, each exactly once
		wantNonce bool
		wantPKCE  bool
	}{
		{"engine adds all", base, defaultScope, "", tokenStep(authPost),
			[]string{"response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method"}, true, true},
		{"template places state nonce and challenge", base + "&state=${state}&nonce=${nonce}&code_challenge=${code_challenge}&code_challenge_method=S256",
			defaultScope, "", tokenStep(authPost),
			[]string{"response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method"}, true, true},
		{"pkce and nonce off", base, defaultScope, `"pkce": false, "nonce": false`, tokenNoPKCE,
			[]string{"response_type", "client_id", "redirect_uri", "state"}, false, false},
		{"no openid scope: no nonce", base + "&scope=${scope}", "email profile", "", tokenStep(authPost),
			[]string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			s := p.strategy(t, fileWith(keysWith(tt.authURI, tt.scope), tt.extra, tt.token, jwtStepJWKS))
			l := s.NewLogin()
			if (l.Nonce != "") != tt.wantNonce || (l.CodeVerifier != "") != tt.wantPKCE || l.State == "" {
				t.Fatalf("Login = %+v; want nonce %v, PKCE %v, a state", l, tt.wantNonce, tt.wantPKCE)
			}
			raw, err := s.AuthCodeURL(l)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			var keys []string
			for k, v := range q {
				keys = append(keys, k)
				if len(v) != 1 {
					t.Errorf("%s appears %d times in %s", k, len(v), raw)
				}
			}
			if !sameSet(keys, tt.wantKeys) {
				t.Errorf("query keys %v, want %v (%s)", keys, tt.wantKeys, raw)
			}
			if q.Get("state") != l.State || q.Get("nonce") != l.Nonce || q.Get("code_challenge") != l.CodeChallenge() {
				t.Errorf("URL %s does not carry the login's values %+v", raw, l)
			}
		})
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestCallbackErrors covers callbacks that must fail before any step runs.
func TestCallbackErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		query   func(l *engine.Login, cb url.Values) url.Values
		wantErr error                 // a sentinel, or nil when wantPE is set
		wantPE  *engine.ProviderError // the IdP's refusal at the callback
	}{
		{"access denied", func(l *engine.Login, _ url.Values) url.Values {
			return url.Values{"error": {"access_denied"}, "error_description": {"The user said no"}, "state": {l.State}}
		}, nil, &engine.ProviderError{Step: "authorize", Code: "access_denied", Description: "The user said no"}},
		{"wrong state", func(_ *engine.Login, cb url.Values) url.Values {
			return url.Values{"code": {cb.Get("code")}, "state": {"forged-state"}}
		}, engine.ErrStateMismatch, nil},
		{"no state", func(_ *engine.Login, cb url.Values) url.Values {
			return url.Values{"code": {cb.Get("code")}}
		}, engine.ErrStateMismatch, nil},
		{"state with a suffix", func(l *engine.Login, cb url.Values) url.Values {
			return url.Values{"code": {cb.Get("code")}, "state": {l.State + "x"}}
		}, engine.ErrStateMismatch, nil},
		{"no code", func(l *engine.Login, _ url.Values) url.Values {
			return url.Values{"state": {l.State}}
		}, engine.ErrNoCode, nil},
		{"empty code", func(l *engine.Login, _ url.Values) url.Values {
			return url.Values{"code": {""}, "state": {l.State}}
		}, engine.ErrNoCode, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			s := p.strategy(t, oidcFile(authPost))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, tt.query(l, cb))
			if err == nil {
				t.Fatalf("Exchange succeeded: %+v", res)
			}
			wantStep(t, err, "authorize")
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantPE != nil {
				var pe *engine.ProviderError
				if !errors.As(err, &pe) || *pe != *tt.wantPE {
					t.Errorf("err = %#v, want %#v", err, tt.wantPE)
				}
			}
			if n := p.tokenHits.Load(); n != 0 {
				t.Errorf("token endpoint called %d times", n)
			}
		})
	}
}

// wantStep fails the test unless err is a *StepError of strategy "acme"
// naming step.
func wantStep(t *testing.T, err error, step string) *engine.StepError {
	t.Helper()
	var se *engine.StepError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *engine.StepError", err, err)
	}
	if se.Strategy != testStrategy || se.Step != step {
		t.Errorf("StepError{Strategy %q, Step %q}, want {%q, %q}: %v", se.Strategy, se.Step, testStrategy, step, err)
	}
	if !strings.HasPrefix(err.Error(), fmt.Sprintf("engine: strategy %q: step %q: ", testStrategy, step)) {
		t.Errorf("message %q does not name the strategy and step", err)
	}
	return se
}

// wantProviderError fails the test unless err wraps want.
func wantProviderError(t *testing.T, err error, want engine.ProviderError) {
	t.Helper()
	var pe *engine.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *engine.ProviderError", err, err)
	}
	if *pe != want {
		t.Errorf("ProviderError = %+v, want %+v", *pe, want)
	}
}

// TestCodeReplay runs the same callback twice: the IdP refuses the used
// code, and the engine reports the refusal as the token step's.
func TestCodeReplay(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, oidcFile(authPost))
	l, cb := p.begin(t, s)
	if _, err := s.Exchange(t.Context(), l, cb); err != nil {
		t.Fatalf("first Exchange: %v", err)
	}
	res, err := s.Exchange(t.Context(), l, cb)
	if err == nil {
		t.Fatalf("replayed code accepted: %+v", res)
	}
	wantStep(t, err, "token")
	wantProviderError(t, err, engine.ProviderError{Step: "token", StatusCode: 400, Code: "invalid_grant",
		Description: "unknown, expired or used authorization code"})
}

// TestUserinfoSubjectMismatch: a userinfo answer about another user fails
// the login (OIDC Core §5.3.2).
func TestUserinfoSubjectMismatch(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.update(func(c *idpConfig) { c.userinfoSub = "someone-else" })
	s := p.strategy(t, oidcFile(authPost))
	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if !errors.Is(err, engine.ErrSubjectMismatch) {
		t.Fatalf("Exchange = %+v, %v; want ErrSubjectMismatch", res, err)
	}
	wantStep(t, err, "userinfo")
}

// TestConcurrentLogins runs many logins at once through one Engine (and
// one key set, fetched once); run with -race.
func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	const workers, perWorker = 16, 4
	p := newIDP(t)
	p.update(func(c *idpConfig) { c.auth = authBasic })
	s := p.strategy(t, oidcFile(authBasic))
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range perWorker {
				l := s.NewLogin()
				u, err := s.AuthCodeURL(l)
				if err != nil {
					t.Errorf("worker %d: AuthCodeURL: %v", w, err)
					return
				}
				res, err := s.Exchange(t.Context(), l, p.authorize(u))
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				var user struct{ Sub, Nonce string }
				if err := json.Unmarshal(res.User, &user); err != nil || user.Sub != testSub || user.Nonce != l.Nonce {
					t.Errorf("worker %d: user %s (%v), want sub %q and this login's nonce", w, res.User, err, testSub)
				}
				mu.Lock()
				if seen[res.Tokens.AccessToken] {
					t.Errorf("access token %q handed to two logins", res.Tokens.AccessToken)
				}
				seen[res.Tokens.AccessToken] = true
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(seen) != workers*perWorker {
		t.Errorf("%d logins succeeded, want %d", len(seen), workers*perWorker)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times by concurrent logins, want 1", n)
	}
}
