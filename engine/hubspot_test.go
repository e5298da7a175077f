package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
)

// fakeHubSpot answers like api.hubapi.com's OAuth v1 API for the parts the
// built-in "hubspot" uses: POST /oauth/v1/token (code and refresh
// grants, client id and secret in the form), GET
// /oauth/v1/access-tokens/{token} (the token's metadata, the token one
// path segment) and DELETE /oauth/v1/refresh-tokens/{token}. token is the
// access token it issues; paths records each request's escaped path.
type fakeHubSpot struct {
	t     *testing.T
	token string

	mu      sync.Mutex
	paths   []string
	deleted []string
}

func (f *fakeHubSpot) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/v1/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p := r.PostForm
		if p.Get("client_id") != "hs-client" || p.Get("client_secret") != "hs-secret" || p.Get("redirect_uri") != "https://app.example.com/auth/hubspot/callback" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"})
			return
		}
		switch p.Get("grant_type") {
		case "authorization_code":
			if p.Get("code") != "hs-code" {
				writeJSON(w, http.StatusBadRequest, map[string]any{"status": "BAD_AUTH_CODE", "message": "missing or unknown auth code"})
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "access_token": f.token, "refresh_token": "na1-6f18-4d95-a6e5", "expires_in": 1800})
		case "refresh_token":
			writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "access_token": "CNEW", "refresh_token": p.Get("refresh_token"), "expires_in": 1800})
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.EscapedPath())
		f.mu.Unlock()
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.EscapedPath(), "/oauth/v1/access-tokens/"):
			tok, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/oauth/v1/access-tokens/"))
			if err != nil || tok != f.token {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{
				"token": tok, "user": "ada@corp.test", "hub_domain": "corp.hubspot.com", "scopes": []string{"oauth"},
				"signed_access_token": map[string]any{"expiresAt": 1, "hubId": 62515, "userId": 8675309, "signature": "sig"},
				"hub_id":              62515, "app_id": 456789, "expires_in": 1800, "user_id": 8675309, "token_type": "access"})
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.EscapedPath(), "/oauth/v1/refresh-tokens/"):
			f.mu.Lock()
			f.deleted = append(f.deleted, r.PathValue("x")+strings.TrimPrefix(r.URL.EscapedPath(), "/oauth/v1/refresh-tokens/"))
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	return mux
}

// hubspotStrategy is the built-in "hubspot" against f.
func hubspotStrategy(t *testing.T, f *fakeHubSpot) (*engine.Strategy, *rewriteTransport) {
	t.Helper()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	rt := &rewriteTransport{target: target}
	set, err := strategies.Parse("hs.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"hubspot": {"client_id": "hs-client", "client_secret": "${env.HS}"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return newEngine(t, set, engine.Options{HTTPClient: &http.Client{Transport: rt},
		LookupEnv: func(string) (string, bool) { return "hs-secret", true }}).Strategy("hubspot"), rt
}

// TestBuiltinHubSpot runs the built-in "hubspot" against a stand-in for
// HubSpot: the user comes from the access token's metadata, the token
// sent as one path segment and arriving whole; the token HubSpot echoes
// is not kept in the user object; sign-out deletes the refresh token,
// again one path segment.
func TestBuiltinHubSpot(t *testing.T) {
	t.Parallel()
	const token = "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4"
	f := &fakeHubSpot{t: t, token: token}
	s, rt := hubspotStrategy(t, f)
	ctx := context.Background()
	l := s.NewLogin()
	u, _ := s.AuthCodeURL(l)
	if q, _ := url.Parse(u); q.Host != "app.hubspot.com" || q.Path != "/oauth/authorize" || q.Query().Get("scope") != "oauth" || q.Query().Get("state") != l.State {
		t.Fatalf("authorize URL %s", u)
	}
	res, err := s.Exchange(ctx, l, url.Values{"code": {"hs-code"}, "state": {l.State}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Subject() != "8675309" || res.Claims["email"] != "ada@corp.test" || res.Claims["hub_domain"] != "corp.hubspot.com" {
		t.Fatalf("subject %q claims %v", res.Subject(), res.Claims)
	}
	if strings.Contains(string(res.User), token) {
		t.Fatalf("the user object holds the access token: %s", res.User)
	}
	if res.Tokens.AccessToken != token {
		t.Fatalf("tokens %+v", res.Tokens)
	}
	if err := s.Revoke(ctx, res.Tokens); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deleted) != 1 || f.deleted[0] != "na1-6f18-4d95-a6e5" {
		t.Errorf("deleted refresh tokens %v", f.deleted)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	want := []string{"POST https://api.hubapi.com/oauth/v1/token", "GET https://api.hubapi.com/oauth/v1/access-tokens/" + token,
		"DELETE https://api.hubapi.com/oauth/v1/refresh-tokens/na1-6f18-4d95-a6e5"}
	if strings.Join(rt.seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(rt.seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestHubSpotTokenAsSegment: whatever HubSpot's token endpoint answers as
// the access token, it reaches the metadata endpoint as exactly one path
// segment or not at all: a token that climbs the path or adds a segment
// is refused before any request, and the refusal does not quote it.
func TestHubSpotTokenAsSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		token    string
		wantPath string // the escaped path that reached HubSpot; "" when refused
	}{
		{"../../refresh-tokens/na1-6f18", ""},
		{"a/b", ""},
		{"..", ""},
		{".", ""},
		{`..\admin`, ""},
		{"%2F..%2Fx", "/oauth/v1/access-tokens/%252F..%252Fx"},
		{"?q=1", "/oauth/v1/access-tokens/%3Fq=1"},
		{"#frag", "/oauth/v1/access-tokens/%23frag"},
		{"tök€n", "/oauth/v1/access-tokens/t%C3%B6k%E2%82%ACn"},
		{"@evil.test:443", "/oauth/v1/access-tokens/@evil.test:443"},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			t.Parallel()
			f := &fakeHubSpot{t: t, token: tt.token}
			s, rt := hubspotStrategy(t, f)
			l := s.NewLogin()
			res, err := s.Exchange(context.Background(), l, url.Values{"code": {"hs-code"}, "state": {l.State}})
			f.mu.Lock()
			paths := append([]string(nil), f.paths...)
			f.mu.Unlock()
			if tt.wantPath == "" {
				if !errors.Is(err, interp.ErrUnsafeValue) {
					t.Fatalf("err = %v, want the token refused (ErrUnsafeValue)", err)
				}
				if len(paths) != 0 {
					t.Fatalf("requests made: %v", paths)
				}
				if strings.Contains(err.Error(), tt.token) && len(tt.token) > 2 {
					t.Fatalf("the error quotes the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != 1 || paths[0] != "GET "+tt.wantPath {
				t.Fatalf("paths %v, want GET %s", paths, tt.wantPath)
			}
			rt.mu.Lock()
			host := rt.seen[1]
			rt.mu.Unlock()
			if !strings.HasPrefix(host, "GET https://api.hubapi.com/oauth/v1/access-tokens/") {
				t.Fatalf("request %q", host)
			}
			if res.Claims["email"] != "ada@corp.test" {
				t.Fatalf("claims %v", res.Claims)
			}
		})
	}
}

// TestSegmentURINotInErrors: when the metadata call fails, the error
// shows the step's URI template, not the token in its path.
func TestSegmentURINotInErrors(t *testing.T) {
	t.Parallel()
	const token = "CJSP5qf1KhICAQEYs-secret-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "refresh_token": "rt", "expires_in": 1800})
			return
		}
		// The metadata endpoint hangs up.
		hj, _ := w.(http.Hijacker)
		c, _, _ := hj.Hijack()
		c.Close()
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	set, err := strategies.Parse("hs.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"hubspot": {"client_id": "hs-client", "client_secret": "${env.HS}"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := newEngine(t, set, engine.Options{HTTPClient: &http.Client{Transport: &rewriteTransport{target: target}},
		LookupEnv: func(string) (string, bool) { return "hs-secret", true }}).Strategy("hubspot")
	l := s.NewLogin()
	_, err = s.Exchange(context.Background(), l, url.Values{"code": {"c"}, "state": {l.State}})
	if !errors.Is(err, engine.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "access-tokens/${segment:token.access_token}") {
		t.Fatalf("err = %v: want the template, not the token", err)
	}
}
