package authtest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

// TestLogin is the package documentation's example.
func TestLogin(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada()) // through the IdP's login form
	if p := br.Verify(); p.Status != http.StatusOK || p.Header.Get("X-Auth-User") != authtest.Ada().ID {
		t.Fatalf("verify: %d %v", p.Status, p.Header)
	}
	b.Clock.Advance(25 * time.Hour) // past the session's lifetime
	if p := br.Verify(); p.Status != http.StatusUnauthorized {
		t.Errorf("verify after the lifetime: %d, want 401", p.Status)
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestLoadBalancedInstances: two instances on one memory store behind the
// bench's load balancer share the session, whichever serves.
func TestLoadBalancedInstances(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{Instances: 2})
	br := b.NewBrowser()
	b.Route(0)
	br.MustLogin("devpost", authtest.Bob())
	b.Route(1)
	if status, s := br.Session(); status != http.StatusOK || s["strategy"] != "devpost" {
		t.Fatalf("session on instance 1: %d %v", status, s)
	}
	if b.Apps[0].URL == "" || b.Apps[0].URL == b.Apps[1].URL {
		t.Errorf("instances' URLs %q, %q", b.Apps[0].URL, b.Apps[1].URL)
	}
	// Parallel subtests share the bench, each with its own browser.
	for _, u := range []devidp.User{authtest.Ada(), authtest.Eve()} {
		t.Run(u.Username, func(t *testing.T) {
			t.Parallel()
			br := b.BrowserFor(t)
			br.MustLogin("dev", u)
			if v := br.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != u.ID {
				t.Errorf("verify as %s: %d %v", u.Username, v.Status, v.Header)
			}
		})
	}
}

// TestTokenRecorderSeesTheBackChannel: the recorder keeps the IdP's
// answers and their tokens; AssertNoSecrets finds one in a text.
func TestTokenRecorderSeesTheBackChannel(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	b.NewBrowser().MustLogin("dev", authtest.Ada())
	if b.Tokens.Last("/oauth/token") == nil {
		t.Fatal("no token answer recorded")
	}
	secrets := b.Tokens.Secrets()
	if len(secrets) < 5 { // two client secrets, the code, access, refresh and ID tokens
		t.Fatalf("%d secrets recorded", len(secrets))
	}
	ft := &fakeT{TB: t}
	b.Tokens.AssertNoSecrets(ft, "a text", "before "+secrets[len(secrets)-1]+" after")
	if !ft.failed {
		t.Error("AssertNoSecrets did not find the token")
	}
}

// fakeT records failures instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }
func (f *fakeT) Logf(string, ...any)   {}
