package engine_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
)

// TestCodeInjectionInForm: a callback code that looks like more form
// fields arrives at the token endpoint as one value of one field.
func TestCodeInjectionInForm(t *testing.T) {
	t.Parallel()
	const attack = "x&grant_type=client_credentials&client_id=evil"
	p := newIDP(t)
	s := p.strategy(t, oidcFile(authPost))
	l := s.NewLogin()
	u, err := s.AuthCodeURL(l)
	if err != nil {
		t.Fatal(err)
	}
	cb := p.authorizeCode(u, attack)
	if _, err := s.Exchange(t.Context(), l, cb); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	form, _ := p.lastTokenRequest()
	for k, want := range map[string][]string{
		"grant_type": {"authorization_code"},
		"code":       {attack},
		"client_id":  {testClientID},
	} {
		if !reflect.DeepEqual(form[k], want) {
			t.Errorf("token form %s = %q, want %q", k, form[k], want)
		}
	}
}

// TestCodeInjectionInJSON: a code carrying quotes stays one JSON string in
// a JSON body.
func TestCodeInjectionInJSON(t *testing.T) {
	t.Parallel()
	const attack = `x","grant_type":"client_credentials","y":"`
	p := newIDP(t)
	var got atomic.Pointer[map[string]any]
	p.handle("POST /jt", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("JSON body: %v, Content-Type %q", err, r.Header.Get("Content-Type"))
		}
		got.Store(&body)
		writeOAuthError(w, 400, "invalid_grant", "test stops here")
	})
	s := p.strategy(t, stratFile("",
		`{"name": "token", "uri": "{{IDP}}/jt", "method": "POST",
		  "json": {"grant_type": "authorization_code", "code": "${auth.code}", "client": {"id": "${client_id}"}, "n": 1}}`,
		jwtStepJWKS))
	l, _ := p.begin(t, s)
	_, err := s.Exchange(t.Context(), l, url.Values{"code": {attack}, "state": {l.State}})
	wantProviderError(t, err, engine.ProviderError{Step: "token", StatusCode: 400, Code: "invalid_grant", Description: "test stops here"})
	want := map[string]any{"grant_type": "authorization_code", "code": attack, "client": map[string]any{"id": testClientID}, "n": float64(1)}
	if b := got.Load(); b == nil || !reflect.DeepEqual(*b, want) {
		t.Errorf("JSON body = %v, want %v", b, want)
	}
}

// untrustedURIs are step URIs in which a value from the IdP or the request
// would form the scheme, host or path.
var untrustedURIs = []struct{ name, uri string }{
	{"IdP value as the whole URI", "${token.api_host}"},
	{"IdP value as scheme and host", "${token.api_host}/userinfo"},
	{"IdP value as host", "http://${token.api_host}/userinfo"},
	{"earlier step's claim in the path", "{{IDP}}/users/${jwt.sub}"},
	{"callback value in the path", "{{IDP}}/users/${auth.code}?a=1"},
}

// TestValidateRefusesUntrustedURI: strategies.Parse refuses those URIs,
// naming the step and field.
func TestValidateRefusesUntrustedURI(t *testing.T) {
	t.Parallel()
	for _, tt := range untrustedURIs {
		t.Run(tt.name, func(t *testing.T) {
			file := stratFile("", tokenStep(authPost), jwtStepJWKS, `{"name": "userinfo", "uri": "`+tt.uri+`"}`)
			_, err := strategies.Parse("test.json", []byte(strings.ReplaceAll(file, "{{IDP}}", "https://idp.test")))
			var ps strategies.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse: err = %v, want strategies.Problems", err)
			}
			found := false
			for _, pr := range ps {
				if pr.Severity == strategies.SevError && pr.Step == "userinfo" && pr.Field == "uri" &&
					strings.Contains(pr.Message, "may not form the scheme, host or path") {
					found = true
				}
			}
			if !found {
				t.Errorf("no error for step userinfo, field uri in:\n%v", err)
			}
		})
	}
	t.Run("query placement is fine", func(t *testing.T) {
		file := stratFile("", tokenStep(authPost), jwtStepJWKS, `{"name": "userinfo", "uri": "{{IDP}}/users?id=${jwt.sub}&c=${auth.code}"}`)
		parseFile(t, "https://idp.test", file)
	})
}

// TestRuntimeRefusesUntrustedURI: the engine runs the plan that was
// validated, never a strategy changed after it: changing a loaded
// definition so that an IdP value forms a URI's host or path (what a set
// built around the checks used to allow) changes nothing that runs, and no
// request goes to a server an IdP value named. (The plan's templates refuse
// such a value at run time too: strategies' TestTemplateRefusesUntrustedHead.)
func TestRuntimeRefusesUntrustedURI(t *testing.T) {
	t.Parallel()
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		writeJSON(w, 200, map[string]any{"sub": testSub})
	}))
	t.Cleanup(evil.Close)
	for _, tt := range untrustedURIs {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.update(func(c *idpConfig) {
				c.tokenHook = func(a map[string]any) { a["api_host"] = strings.TrimPrefix(evil.URL, "http://") }
				if !strings.HasPrefix(tt.uri, "http://") {
					c.tokenHook = func(a map[string]any) { a["api_host"] = evil.URL }
				}
			})
			set := parseFile(t, p.URL, stratFile("", tokenStep(authPost), jwtStepJWKS, userinfoStep))
			def := set.Lookup(testStrategy)
			st := def.Step("userinfo")
			st.URI = strings.ReplaceAll(tt.uri, "{{IDP}}", p.URL)
			st.Headers = nil
			e := newEngine(t, set, p.options())
			s := e.Strategy(testStrategy)
			l, cb := p.begin(t, s)
			if _, err := s.Exchange(t.Context(), l, cb); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if n := evilHits.Load(); n != 0 {
				t.Errorf("the server an IdP value named was called %d times", n)
			}
			if n := p.userinfoHits.Load(); n != 1 {
				t.Errorf("userinfo called %d times, want once, as validated", n)
			}
			if got := e.Strategy(testStrategy).Definition().Step("userinfo").URI; got != p.URL+"/userinfo" {
				t.Errorf("the engine's definition changed with the copy: %q", got)
			}
		})
	}
}

// TestHeaderInjection: an access token carrying CR, LF or NUL cannot
// split the header it is placed in; no request goes out.
func TestHeaderInjection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, token string }{
		{"CRLF", "at-1\r\nX-Evil: 1"},
		{"LF", "at-1\nX-Evil: 1"},
		{"CR", "at-1\rX-Evil: 1"},
		{"NUL", "at-1\x00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.update(func(c *idpConfig) { c.tokenHook = func(a map[string]any) { a["access_token"] = tt.token } })
			var seen atomic.Int64
			p.handle("/me", func(w http.ResponseWriter, r *http.Request) {
				seen.Add(1)
				writeJSON(w, 200, map[string]any{"sub": testSub})
			})
			s := p.strategy(t, stratFile("", tokenStep(authPost),
				`{"name": "jwt", "uri": "{{IDP}}/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`))
			l, cb := p.begin(t, s)
			_, err := s.Exchange(t.Context(), l, cb)
			if !errors.Is(err, interp.ErrUnsafeValue) {
				t.Fatalf("err = %v, want interp.ErrUnsafeValue", err)
			}
			wantStep(t, err, "jwt")
			if n := seen.Load(); n != 0 {
				t.Errorf("a request with the injected header went out (%d)", n)
			}
			if !strings.Contains(err.Error(), "config.headers.Authorization") {
				t.Errorf("message %q does not name the header", err)
			}
		})
	}
}

// TestQueryPlacement: an IdP value placed in a URI's query is
// query-escaped: it stays one parameter's value.
func TestQueryPlacement(t *testing.T) {
	t.Parallel()
	const token = "at&admin=1#frag"
	p := newIDP(t)
	p.update(func(c *idpConfig) { c.tokenHook = func(a map[string]any) { a["access_token"] = token } })
	var got atomic.Pointer[url.URL]
	p.handle("GET /qui", func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL)
		writeJSON(w, 200, map[string]any{"sub": testSub, "name": userinfoName})
	})
	s := p.strategy(t, stratFile(`"api_base": "{{IDP}}"`, tokenStep(authPost), jwtStepJWKS,
		`{"name": "userinfo", "uri": "${api_base}/qui?access_token=${token.access_token}&schema=openid"}`))
	l, cb := p.begin(t, s)
	if _, err := s.Exchange(t.Context(), l, cb); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	u := got.Load()
	if u == nil {
		t.Fatal("userinfo not called")
	}
	want := url.Values{"access_token": {token}, "schema": {"openid"}}
	if q := u.Query(); !reflect.DeepEqual(q, want) || u.Path != "/qui" {
		t.Errorf("userinfo got path %q query %v (raw %q), want /qui %v", u.Path, q, u.RawQuery, want)
	}
}
