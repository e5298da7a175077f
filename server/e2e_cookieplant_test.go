package server_test

// Login CSRF and session riding by cookie planting: an attacker who can
// set cookies for the host — from a sibling subdomain (Domain=.example.com)
// or a plain-http answer on the same host — but, browsers enforcing it,
// never a __Host- cookie, plants cookies in the victim's browser. With
// cookie.secure on, every authflow cookie carries the __Host- prefix, so
// planted un-prefixed cookies are ignored; and a login cookie the server
// did not mint is refused whatever its name.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// atkLoginCookies returns the login cookies in br's jar (name and value).
func atkLoginCookies(br *authtest.Browser) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range br.Cookies() {
		if strings.HasPrefix(strings.TrimPrefix(c.Name, "__Host-"), "authflow_login") {
			out = append(out, c)
		}
	}
	return out
}

// atkUnprefixed is name without the __Host- prefix: the cookie a sibling
// subdomain or a plain-http answer can set.
func atkUnprefixed(name string) string { return strings.TrimPrefix(name, "__Host-") }

func TestAttackCookiePlanting(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	logins := []struct {
		name string
		// plant gives the victim's browser the attacker's cookies; the
		// attacker's browser has started a login as bob (cb, not opened).
		// seed, when not nil, runs in the attacker's browser first.
		seed  func(attacker *authtest.Browser)
		plant func(t *testing.T, attacker, victim *authtest.Browser)
		cause string
	}{
		{
			name: "the attacker's login cookies, un-prefixed",
			plant: func(t *testing.T, attacker, victim *authtest.Browser) {
				cs := atkLoginCookies(attacker)
				if len(cs) == 0 {
					t.Fatal("the attacker's browser holds no login cookie")
				}
				for _, c := range cs {
					victim.SetCookie(atkUnprefixed(c.Name), c.Value)
				}
			},
			cause: "another browser",
		},
		{
			// The attacker chooses a value, plants it in its own browser
			// before starting the login, and in the victim's under every
			// name: the server must never adopt a binding it did not mint.
			name: "a value the attacker chose",
			seed: func(attacker *authtest.Browser) {
				attacker.SetCookie("authflow_login", atkChosen)
				attacker.SetCookie("__Host-authflow_login", atkChosen)
			},
			plant: func(t *testing.T, attacker, victim *authtest.Browser) {
				victim.SetCookie("authflow_login", atkChosen)
				victim.SetCookie("__Host-authflow_login", atkChosen)
				for _, c := range atkLoginCookies(attacker) {
					victim.SetCookie(c.Name, atkChosen)
					victim.SetCookie(atkUnprefixed(c.Name), atkChosen)
				}
			},
			cause: "login cookie",
		},
		{
			name: "the attacker's login cookie, one byte changed, under its own name",
			plant: func(t *testing.T, attacker, victim *authtest.Browser) {
				for _, c := range atkLoginCookies(attacker) {
					v := []byte(c.Value)
					i := len(v) / 2
					if v[i] == 'A' {
						v[i] = 'B'
					} else {
						v[i] = 'A'
					}
					victim.SetCookie(c.Name, string(v))
				}
			},
			cause: "login cookie",
		},
	}
	for _, tt := range logins {
		t.Run(tt.name, func(t *testing.T) {
			attacker, victim := b.NewBrowser(), b.NewBrowser()
			if tt.seed != nil {
				tt.seed(attacker)
			}
			cb := attacker.SignIn(attacker.StartLogin("dev", "/app/attacker"), authtest.Bob())
			tt.plant(t, attacker, victim)
			atkVictimRefused(t, b, victim, cb, tt.cause)
		})
	}

	// The attacker's live session, planted un-prefixed, is not a session.
	t.Run("the attacker's session cookie, un-prefixed", func(t *testing.T) {
		attacker := b.NewBrowser()
		attacker.MustLogin("dev", authtest.Bob())
		victim := b.NewBrowser()
		n := 0
		for _, c := range attacker.Cookies() {
			if strings.HasPrefix(atkUnprefixed(c.Name), "authflow_session") {
				victim.SetCookie(atkUnprefixed(c.Name), c.Value)
				n++
			}
		}
		if n == 0 {
			t.Fatal("the attacker's browser holds no session cookie")
		}
		atkNoSession(t, victim)
		if v := victim.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("/auth/verify with the planted session cookie: %d %q, want 401", v.Status, v.Header.Get("X-Auth-User"))
		}
		if p := victim.Get("/app/x"); p.Status == http.StatusOK {
			t.Errorf("/app/x with the planted session cookie: %d %s", p.Status, p.Body)
		}
	})
	b.AssertNoSecrets("logs", b.Logs.String())
}

// atkChosen is a binding value an attacker made up (43 characters, as the
// server's own).
const atkChosen = "attacker-chosen-binding-value-0123456789abc"
