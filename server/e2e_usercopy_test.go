package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
)

// TestUserFromIsTheHandlersOwn: the session's decoded identity is shared
// by every request (the memory store keeps it decoded), so what Require
// hands the application must be a copy: a handler that writes into its
// User's claims changes nothing for the next request.
func TestUserFromIsTheHandlersOwn(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	var seen []string
	app := httptest.NewServer(b.App().Server.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := server.UserFrom(r.Context())
		seen = append(seen, u.Email())
		// A careless handler writes into what it was given.
		if u.Claims != nil {
			u.Claims["email"] = "mallory@evil.test"
		}
		if i := bytes.Index(u.Raw, []byte(authtest.Ada().Email)); i >= 0 {
			u.Raw[i] = 'm'
		}
	})))
	t.Cleanup(app.Close)
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodGet, app.URL, nil)
		req.Header.Set("Cookie", rsCookieName+"="+br.Cookie(rsCookieName))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	if len(seen) != 2 || seen[1] != authtest.Ada().Email {
		t.Errorf("emails the handler saw: %q, want %q twice", seen, authtest.Ada().Email)
	}
	if _, s := br.Session(); s["user"].(map[string]any)["email"] != authtest.Ada().Email {
		t.Errorf("/auth/session after the handler wrote into its User: %v", s["user"])
	}
}
