package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authflow/authflow/engine"
)

// get requests u as the browser would, following no redirect.
func get(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoopbackLogin: the authorize URL names a listener on 127.0.0.1 as
// redirect_uri, with state, nonce and PKCE; a callback without the state
// is refused and changes nothing; the login's callback finishes it (the
// code exchanged with that redirect_uri and the verifier); a second
// callback is refused.
func TestLoopbackLogin(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, oidcFile(authPost))
	lb, err := s.StartLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	u, err := url.Parse(lb.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(lb.RedirectURI(), "http://127.0.0.1:") || q.Get("redirect_uri") != lb.RedirectURI() ||
		q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorize URL %s (redirect %s)", lb.URL(), lb.RedirectURI())
	}
	back := p.authorize(lb.URL())

	done := make(chan struct{})
	var res *engine.Result
	var werr error
	go func() { defer close(done); res, werr = lb.Wait(context.Background()) }()

	// Another page that found the port, while the user signs in: a wrong
	// state must neither end the login nor be taken for its callback.
	forged := url.Values{"code": {"attacker-code"}, "state": {"guess"}}
	if code := get(t, lb.RedirectURI()+"?"+forged.Encode()); code != http.StatusBadRequest {
		t.Errorf("forged callback: %d, want 400", code)
	}
	if code := get(t, lb.RedirectURI()+"?"+back.Encode()); code != http.StatusOK {
		t.Errorf("callback: %d, want 200", code)
	}
	<-done
	if werr != nil {
		t.Fatalf("Wait: %v", werr)
	}
	if res.Subject() != testSub {
		t.Errorf("subject %q", res.Subject())
	}
	if form, _ := p.lastTokenRequest(); form.Get("redirect_uri") != lb.RedirectURI() || form.Get("code_verifier") == "" {
		t.Errorf("token request %v", form)
	}
	if _, err := http.Get(lb.RedirectURI() + "?" + back.Encode()); err == nil {
		t.Error("the listener still answers after the login")
	}
}

// TestLoopbackNeedsRedirectURI: an auth_uri that writes its own
// redirect_uri cannot be sent to a listener.
func TestLoopbackNeedsRedirectURI(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	keys := keysWith("{{IDP}}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${base_uri}${redirect_path}&scope=${scope}", defaultScope)
	s := p.strategy(t, fileWith(keys, "", tokenStep(authPost), jwtStepJWKS))
	if _, err := s.StartLoopback(); !errors.Is(err, engine.ErrLoopbackRedirect) {
		t.Fatalf("err = %v", err)
	}
}
