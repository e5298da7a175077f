package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// hubspotAPI answers, in the place of api.hubapi.com, the requests the
// built-in "hubspot" makes (its documented OAuth v1 API): the token
// exchange, the access token's metadata (the token in the path, echoed in
// the answer as "token") and the deletion of the refresh token (the token
// in the path).
type hubspotAPI struct {
	access, refresh string

	mu       sync.Mutex
	requests []string // METHOD host escaped-path
}

func (h *hubspotAPI) answer(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.requests = append(h.requests, req.Method+" "+req.URL.Host+req.URL.EscapedPath())
	h.mu.Unlock()
	if req.URL.Host != "api.hubapi.com" {
		return nil, nil
	}
	reply := func(status int, v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(string(b))), Request: req}, nil
	}
	path := req.URL.EscapedPath()
	switch {
	case req.Method == http.MethodPost && path == "/oauth/v1/token":
		return reply(http.StatusOK, map[string]any{"token_type": "bearer", "access_token": h.access, "refresh_token": h.refresh, "expires_in": 1800})
	case req.Method == http.MethodGet && path == "/oauth/v1/access-tokens/"+url.PathEscape(h.access):
		return reply(http.StatusOK, map[string]any{"token": h.access, "user": "ada@example.test", "hub_domain": "ada.hubspot.com",
			"scopes": []string{"oauth"}, "hub_id": 62515, "app_id": 456789, "expires_in": 1800, "user_id": 8675309, "token_type": "access"})
	case req.Method == http.MethodDelete && path == "/oauth/v1/refresh-tokens/"+url.PathEscape(h.refresh):
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: req}, nil
	}
	return reply(http.StatusNotFound, map[string]any{"status": "error", "message": "not found"})
}

// TestE2EHubSpot signs in with the built-in hubspot through the server:
// the token reaches HubSpot's metadata endpoint as one path segment, the
// token HubSpot echoes never reaches /auth/session, the logs or
// /auth/verify's headers, and sign-out deletes the refresh token, again
// as one path segment.
func TestE2EHubSpot(t *testing.T) {
	t.Parallel()
	api := &hubspotAPI{access: "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3x", refresh: "na1-6f18-4d95-a6e5-3d5c6e5c9e5a"}
	b := authtest.New(t, authtest.Options{
		Strategies: `{"strategies": {"hubspot": {"client_id": "hs-client", "client_secret": "${env.POST_SECRET}"}}}`,
		Intercept:  api.answer,
	})
	b.Tokens.Add(api.access, api.refresh)
	br := b.NewBrowser()
	p := br.Get("/auth/hubspot/login")
	loc, err := url.Parse(p.Location)
	if p.Status != http.StatusFound || err != nil || loc.Host != "app.hubspot.com" || loc.Path != "/oauth/authorize" {
		t.Fatalf("login: %d to %q", p.Status, p.Location)
	}
	cb := br.Get("/auth/hubspot/callback?code=hs-code&state=" + url.QueryEscape(loc.Query().Get("state")))
	if cb.Status != http.StatusFound {
		t.Fatalf("callback: %d %s", cb.Status, cb.Body)
	}
	status, s := br.Session()
	body, _ := json.Marshal(s)
	if status != http.StatusOK || !strings.Contains(string(body), "ada@example.test") || !strings.Contains(string(body), "8675309") {
		t.Fatalf("session %d %s", status, body)
	}
	b.AssertNoSecrets("/auth/session", string(body))
	v := br.Verify()
	if v.Status != http.StatusOK {
		t.Fatalf("verify: %d", v.Status)
	}
	hdr, _ := json.Marshal(v.Header)
	b.AssertNoSecrets("/auth/verify headers", string(hdr))
	if so := br.Post("/auth/signout"); so.Status >= 400 {
		t.Fatalf("signout: %d %s", so.Status, so.Body)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
	api.mu.Lock()
	defer api.mu.Unlock()
	want := []string{
		"POST api.hubapi.com/oauth/v1/token",
		"GET api.hubapi.com/oauth/v1/access-tokens/" + api.access,
		"DELETE api.hubapi.com/oauth/v1/refresh-tokens/" + api.refresh,
	}
	if got := strings.Join(api.requests, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
