package server_test

// The login cookie's own rules, end to end: how many a browser carries,
// the login timeout, and a return_to too long for a cookie.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
)

// TestLoginCookieCap: a browser that starts more logins than it may carry
// (5) loses the oldest ones; the newest complete.
func TestLoginCookieCap(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	var callbacks []string
	for i := 0; i < 7; i++ {
		b.Clock.Advance(time.Second) // start times tell the logins apart
		callbacks = append(callbacks, br.SignIn(br.StartLogin("dev", fmt.Sprintf("/app/tab%d", i)), authtest.Ada()))
		if n := len(atkLoginCookies(br)); n > 5 {
			t.Errorf("after %d login starts the browser holds %d login cookies, want at most 5", i+1, n)
		}
	}
	for i, cb := range callbacks {
		p := br.Get(cb)
		if i < 2 {
			e := atkFailPage(t, b, p, http.StatusBadRequest, "expired", "state_mismatch", "")
			atkCause(t, e, "no login cookie")
			continue
		}
		if want := fmt.Sprintf("%s/app/tab%d", b.URL, i); p.Status != http.StatusFound || p.Location != want {
			t.Errorf("login %d: %d to %q, want 302 to %q", i, p.Status, p.Location, want)
		}
	}
	// Long return_to values: the cookies stay within the budget.
	br = b.NewBrowser()
	long := "/app/" + strings.Repeat("y", 2000)
	for i := 0; i < 4; i++ {
		b.Clock.Advance(time.Second)
		br.StartLogin("dev", long)
	}
	size := 0
	for _, c := range atkLoginCookies(br) {
		size += len(c.Name) + len(c.Value) + 2
	}
	if size > 6<<10 {
		t.Errorf("login cookies of 4 logins with a 2000-byte return_to: %d bytes, want at most 6 KiB", size)
	}
	atkNoSession(t, br)
}

// TestLoginTimeout: a callback later than the login timeout (10 minutes)
// is refused, even with its login cookie (which the browser would have
// dropped by then).
func TestLoginTimeout(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	cb := br.SignIn(br.StartLogin("dev", ""), authtest.Ada())
	b.Clock.Advance(10*time.Minute + time.Second)
	before := atkGrants(b)
	p := br.Get(cb)
	e := atkFailPage(t, b, p, http.StatusBadRequest, "expired", "state_mismatch", "")
	atkCause(t, e, "login timeout")
	if atkGrants(b) != before {
		t.Errorf("the late callback sent the code to the IdP")
	}
	atkNoSession(t, br)
}

// TestReturnToTooLongForCookie: a return_to whose escaped form exceeds
// 2 KiB is dropped (the login lands on signin_success), so the login
// cookie stays under browsers' 4 KiB.
func TestReturnToTooLongForCookie(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	// 1000 bytes, each escaped to %XX: 3000 after normalisation.
	raw := "/app/" + strings.Repeat("\u00e9", 500)
	p := br.Get("/auth/dev/login?return_to=" + url.QueryEscape(raw))
	if p.Status != http.StatusFound {
		t.Fatalf("login start: %d", p.Status)
	}
	for _, c := range p.Cookies() {
		if len(c.Raw) > 4096 {
			t.Errorf("cookie %s: %d bytes, over browsers' 4096", c.Name, len(c.Raw))
		}
	}
	p = br.Get(br.SignIn(p.Location, authtest.Ada()))
	if p.Status != http.StatusFound || p.Location != b.URL+"/app/" {
		t.Errorf("callback: %d to %q, want 302 to signin_success", p.Status, p.Location)
	}
}
