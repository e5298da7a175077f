package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// TestCatalogueCompiles compiles every built-in strategy, with its required
// values set by testdata/builtins.json, into an engine.
func TestCatalogueCompiles(t *testing.T) {
	t.Parallel()
	set, err := strategies.Load("../testdata/builtins.json")
	if err != nil {
		t.Fatal(err)
	}
	applePEM := pemOf(t, testKeyMaterial().ec) // apple's client_key
	e, err := engine.New(set, engine.Options{
		HTTPClient: builtinsDiscovery(),
		LookupEnv: func(k string) (string, bool) {
			if k == "APPLE_PRIVATE_KEY" {
				return applePEM, true
			}
			return "secret-from-env", true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got, want := len(e.Strategies()), len(strategies.Catalogue()); got != want {
		t.Fatalf("%d strategies compiled, want %d", got, want)
	}
	for _, s := range e.Strategies() {
		u, err := s.AuthCodeURL(s.NewLogin())
		if err != nil {
			t.Errorf("%s: AuthCodeURL: %v", s.Name(), err)
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" {
			t.Errorf("%s: auth URL %q is not https", s.Name(), u)
			continue
		}
		q := pu.Query()
		if q.Get("redirect_uri") != "https://app.example.com/auth/"+s.Name()+"/callback" || q.Get("state") == "" || q.Get("client_id") == "" {
			t.Errorf("%s: auth URL %q lacks redirect_uri, state or client_id", s.Name(), u)
		}
		if pkce := !s.Definition().InsecureNoPKCE; pkce != (q.Get("code_challenge_method") == "S256") {
			t.Errorf("%s: PKCE %v but auth URL %q", s.Name(), pkce, u)
		}
	}
}

// builtinsDiscovery is a client that answers the requests an engine of
// testdata/builtins.json makes when it starts: the discovery documents of
// the strategies with an issuer (oidc's https://idp.example.com and the
// built-ins that extend the oidc shape).
func builtinsDiscovery() *http.Client {
	issuers := []string{
		"https://idp.example.com",
		"https://auth.example.com",
		"https://authentik.example.com/application/o/authflow/",
		"https://door.example.com",
		"https://gitea.example.com",
		"https://oauth.id.jumpcloud.com/",
		"https://idm.example.com/oauth2/openid/authflow/",
		"https://abc123.logto.app/oidc",
		"https://acme.onelogin.com/oidc/2",
		"https://auth.pingone.com/abcd1234-ef56-7890-abcd-ef1234567890/as",
		"https://login.salesforce.com",
		"https://acme-abc123.zitadel.cloud",
		"https://auth.piedpiper.example",
		"https://upbeat-lovelace-abc123.projects.oryapis.com",
	}
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		for _, iss := range issuers {
			if r.URL.String() != strings.TrimRight(iss, "/")+"/.well-known/openid-configuration" {
				continue
			}
			base := strings.TrimRight(iss, "/")
			doc := `{"issuer": "` + iss + `", "authorization_endpoint": "` + base + `/authorize", "token_endpoint": "` + base + `/token",
				"jwks_uri": "` + base + `/jwks", "userinfo_endpoint": "` + base + `/userinfo"}`
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(doc)), Request: r}, nil
		}
		return nil, errors.New("no network in this test: " + r.URL.String())
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// rewriteTransport sends every request to one test server, whatever its
// host, so that a built-in strategy's real URLs can be exercised locally.
type rewriteTransport struct {
	target *url.URL
	mu     sync.Mutex
	seen   []string // METHOD https://host/path of each request
}

func (rt *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, r.Method+" "+r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
	rt.mu.Unlock()
	r = r.Clone(r.Context())
	r.Header.Set("X-Original-Host", r.URL.Host)
	r.URL.Scheme, r.URL.Host = rt.target.Scheme, rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// fakeGitHub answers like github.com and api.github.com for the parts the
// built-in "github" strategy uses, checking what it is sent.
func fakeGitHub(t *testing.T) http.Handler {
	const clientID, secret, code, token = "Iv1.abc", "gh-secret", "gh-code", "gho_token123"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != secret {
			json.NewEncoder(w).Encode(map[string]string{"error": "incorrect_client_credentials"})
			return
		}
		if r.PostForm.Get("code") != code || r.PostForm.Get("code_verifier") == "" {
			// GitHub answers a bad code with 200 and an error object.
			json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})
	})
	authed := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-GitHub-Api-Version") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials"}`))
			return false
		}
		return true
	}
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"login":"octocat","id":583231,"name":"The Octocat","email":null}`))
		}
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[{"email":"old@example.com","primary":false,"verified":true},
				{"email":"unverified@example.com","primary":true,"verified":false},
				{"email":"octocat@example.com","primary":true,"verified":true}]`))
		}
	})
	mux.HandleFunc("DELETE /applications/{id}/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if !ok || u != clientID || p != secret || r.PathValue("id") != clientID || body.AccessToken != token {
			t.Errorf("revoke: basic %v %q, path id %q, token %q", ok, u, r.PathValue("id"), body.AccessToken)
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// TestBuiltinGitHub runs the built-in "github" strategy (no ID token: the
// user object comes from the API and the email from /user/emails) against a
// stand-in for GitHub's endpoints.
func TestBuiltinGitHub(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fakeGitHub(t))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	rt := &rewriteTransport{target: target}
	file := `{"base_uri": "https://app.example.com", "strategies": {"github": {"client_id": "Iv1.abc", "client_secret": "${env.GH_SECRET}"}}}`
	set, err := strategies.Parse("gh.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(set, engine.Options{
		HTTPClient: &http.Client{Transport: rt},
		LookupEnv:  func(k string) (string, bool) { return "gh-secret", k == "GH_SECRET" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Strategy("github")
	l := s.NewLogin()
	if l.Nonce != "" {
		t.Errorf("GitHub is not OpenID: no nonce expected, got %q", l.Nonce)
	}
	ctx := context.Background()

	t.Run("login", func(t *testing.T) {
		res, err := s.Exchange(ctx, l, url.Values{"code": {"gh-code"}, "state": {l.State}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Subject() != "583231" {
			t.Errorf("subject %q, want the numeric id as text", res.Subject())
		}
		if res.Claims["email"] != "octocat@example.com" || res.Claims["preferred_username"] != "octocat" {
			t.Errorf("claims %v: want the primary verified email and the login", res.Claims)
		}
		if res.Tokens.AccessToken != "gho_token123" || !res.Tokens.Expiry.IsZero() {
			t.Errorf("tokens %+v", res.Tokens)
		}
		if err := s.Revoke(ctx, res.Tokens); err != nil {
			t.Errorf("revoke: %v", err)
		}
	})
	t.Run("bad code answered with 200", func(t *testing.T) {
		_, err := s.Exchange(ctx, l, url.Values{"code": {"stale"}, "state": {l.State}})
		var pe *engine.ProviderError
		if !errors.As(err, &pe) || pe.Code != "bad_verification_code" || pe.Step != "token" {
			t.Fatalf("err = %v, want ProviderError bad_verification_code", err)
		}
	})
	rt.mu.Lock()
	seen := strings.Join(rt.seen, "\n")
	rt.mu.Unlock()
	for _, want := range []string{
		"POST https://github.com/login/oauth/access_token",
		"GET https://api.github.com/user",
		"GET https://api.github.com/user/emails",
		"DELETE https://api.github.com/applications/Iv1.abc/token",
	} {
		if !strings.Contains(seen, want) {
			t.Errorf("no request %q; requests:\n%s", want, seen)
		}
	}
}
