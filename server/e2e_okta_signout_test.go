package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/tidwall/gjson"
)

// oktaFront answers under Okta's paths (${okta_uri}/v1/…) for the bench's
// IdP, as an Okta custom authorization server does: authorize, token,
// keys, userinfo and revoke, one token per revoke call. It records what
// /v1/revoke receives.
type oktaFront struct {
	srv    *httptest.Server
	target atomic.Pointer[url.URL] // the IdP, once it runs

	mu      sync.Mutex
	revoked []url.Values
}

func newOktaFront(t *testing.T) *oktaFront {
	o := &oktaFront{}
	paths := map[string]string{"/v1/token": "/oauth/token", "/v1/keys": "/keys", "/v1/userinfo": "/userinfo", "/v1/revoke": "/revoke"}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(o.target.Load())
		pr.Out.URL.Path = paths[pr.In.URL.Path]
	}}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/authorize":
			http.Redirect(w, r, o.target.Load().String()+"/authorize?"+r.URL.RawQuery, http.StatusFound)
		case r.URL.Path == "/v1/revoke":
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			o.mu.Lock()
			o.revoked = append(o.revoked, form)
			o.mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			r.ContentLength = int64(len(body))
			proxy.ServeHTTP(w, r)
		case paths[r.URL.Path] != "":
			proxy.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *oktaFront) revocations() []url.Values {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]url.Values(nil), o.revoked...)
}

// TestOktaSignoutRevokesBoth: with the built-in okta as it ships (only
// okta_uri, the client and, as for Okta's org authorization server, the
// jwt step's issuer set), POST /auth/signout revokes the refresh token and
// the access token at /v1/revoke, each with its token_type_hint, and both
// are dead at the IdP afterwards.
func TestOktaSignoutRevokesBoth(t *testing.T) {
	t.Parallel()
	okta := newOktaFront(t)
	b := authtest.New(t, authtest.Options{Strategies: `{"strategies": {"dev": {"extends": "okta",
		"okta_uri": "` + okta.srv.URL + `", "client_id": "basic-app", "client_secret": "${env.BASIC_SECRET}",
		"steps": [{"name": "jwt", "issuer": "{{IDP}}"}]}}}`})
	idp, _ := url.Parse(b.IdPURL)
	okta.target.Store(idp)

	br := b.NewBrowser()
	p := br.Get("/auth/dev/login")
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, okta.srv.URL+"/v1/authorize?") {
		t.Fatalf("login: %d to %q, want Okta's /v1/authorize", p.Status, p.Location)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(p.Location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := br.Get(br.SignIn(resp.Header.Get("Location"), authtest.Ada()))
	if back.Status != http.StatusFound || back.Location != b.URL+"/app/" {
		t.Fatalf("callback: %d to %q; body %s", back.Status, back.Location, back.Body)
	}
	answer := b.Tokens.Last("/v1/token")
	at, rt := gjson.GetBytes(answer, "access_token").String(), gjson.GetBytes(answer, "refresh_token").String()
	if at == "" || rt == "" {
		t.Fatalf("token answer without both tokens: %s", answer)
	}

	if p := br.Post("/auth/signout"); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	got := okta.revocations()
	if len(got) != 2 ||
		got[0].Get("token") != rt || got[0].Get("token_type_hint") != "refresh_token" ||
		got[1].Get("token") != at || got[1].Get("token_type_hint") != "access_token" {
		var seen []string
		for _, f := range got {
			seen = append(seen, f.Get("token_type_hint"))
		}
		t.Fatalf("/v1/revoke received %d calls with hints %v, want refresh_token then access_token, with the session's tokens", len(got), seen)
	}
	if n := b.IdP.Stats().Revocations; n != 2 {
		t.Errorf("IdP revocations = %d, want 2", n)
	}
	// Both tokens are dead at the IdP.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequest(http.MethodPost, b.IdPURL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(authtest.BasicClient), url.QueryEscape(authtest.BasicSecret))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("the refresh token still refreshes after sign-out (%v)", err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodGet, b.IdPURL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("the access token still reads userinfo after sign-out (%v)", err)
	} else {
		resp.Body.Close()
	}
}
