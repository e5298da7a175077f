package server_test

// An ended session stays ended, whatever request was in flight when it
// ended: a refresh that was running when a back-channel logout or a
// sign-out landed must not write the session back.

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// refreshGate holds the next refresh grant's answer on its way back to the
// engine until Release: the refresh is then "in flight".
type refreshGate struct {
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func newRefreshGate() *refreshGate {
	return &refreshGate{held: make(chan struct{}, 1), release: make(chan struct{})}
}

// tamper is an authtest.Options.Tamper that blocks an armed gate's refresh.
func (g *refreshGate) tamper(req *http.Request, body []byte) []byte {
	if isRefreshGrant(req) && g.armed.CompareAndSwap(true, false) {
		g.held <- struct{}{}
		<-g.release
	}
	return body
}

// intercept is an authtest.Options.Intercept that blocks an armed gate's
// refresh before it reaches the IdP, then lets it through.
func (g *refreshGate) intercept(req *http.Request) (*http.Response, error) {
	g.tamper(req, nil)
	return nil, nil
}

// arm makes the next refresh grant wait; Release lets it go.
func (g *refreshGate) arm() { g.release = make(chan struct{}); g.armed.Store(true) }

// Release lets the held refresh answer through.
func (g *refreshGate) Release() { close(g.release) }

// isRefreshGrant reports whether req is a token request with
// grant_type=refresh_token.
func isRefreshGrant(req *http.Request) bool {
	if req.Method != http.MethodPost || req.GetBody == nil || !strings.HasSuffix(req.URL.Path, "/token") {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	b, _ := io.ReadAll(body)
	form, _ := url.ParseQuery(string(b))
	return form.Get("grant_type") == "refresh_token"
}

// endedBench starts a bench of two instances sharing a store (two Redis
// clients on one prefix, or one memory store), with o's options.
func endedBench(t *testing.T, useRedis bool, o authtest.Options) *authtest.Bench {
	t.Helper()
	o.Instances = 2
	if useRedis {
		first, prefix := testredis.Client(t)
		opts, err := redis.ParseURL(testredis.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		o.NewStore = func(t testing.TB, i int) server.Store {
			if i == 0 {
				return redisstore.New(first, prefix)
			}
			c := redis.NewClient(opts)
			t.Cleanup(func() { c.Close() })
			return redisstore.New(c, prefix)
		}
	}
	return authtest.New(t, o)
}

// noRedirects is a client that shows each redirect instead of following it.
var noRedirects = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// rawStatus sends method to target with the session cookie set by hand, as
// a thief holding the cookie would, and returns the status.
func rawStatus(t *testing.T, method, target, cookie string, hdr http.Header) int {
	t.Helper()
	req, _ := http.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Cookie", rsCookieName+"="+cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestEndedSessionStaysEnded: a refresh is held in flight on instance 0
// while the session is ended on instance 1 — by a back-channel logout, or
// by the user's sign-out with an idle timeout set — then let go. The
// session must stay ended on both instances, for the cookie too, however
// the race falls; 10 tries each, in memory and over Redis.
func TestEndedSessionStaysEnded(t *testing.T) {
	t.Parallel()
	ends := map[string]func(t *testing.T, b *authtest.Bench, cookie string){
		"backchannel logout": func(t *testing.T, b *authtest.Bench, _ string) {
			claims := logoutClaims(b, authtest.Ada().ID, "")
			now := b.Clock.Now() // authflow's clock, which the test moves
			claims["iat"], claims["exp"] = now.Unix(), now.Add(2*time.Minute).Unix()
			raw, err := b.IdP.SignJWT(nil, claims)
			if err != nil {
				t.Fatal(err)
			}
			if status, body := postLogout(t, b, b.Apps[1].URL+"/auth/dev/backchannel-logout",
				url.Values{"logout_token": {raw}}); status != http.StatusOK {
				t.Fatalf("back-channel logout: %d %s", status, body)
			}
		},
		"signout with idle timeout": func(t *testing.T, b *authtest.Bench, cookie string) {
			if status := rawStatus(t, http.MethodPost, b.Apps[1].URL+"/auth/signout", cookie,
				http.Header{"Origin": {b.URL}}); status != http.StatusSeeOther {
				t.Fatalf("sign-out: %d", status)
			}
		},
	}
	for _, backend := range []string{"memory", "redis"} {
		for name, end := range ends {
			t.Run(backend+"/"+name, func(t *testing.T) {
				t.Parallel()
				gate := newRefreshGate()
				b := endedBench(t, backend == "redis", authtest.Options{
					Tamper: gate.tamper,
					Config: func(c *server.Config) { c.IdleTimeout = time.Hour },
				})
				for try := 0; try < 10; try++ {
					br := b.NewBrowser()
					br.MustLogin("dev", authtest.Ada())
					cookie := br.Cookie(rsCookieName)
					b.Clock.Advance(6 * time.Minute) // the access token is due

					gate.arm()
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						rawStatus(t, http.MethodGet, b.Apps[0].URL+"/auth/verify", cookie, nil)
					}()
					<-gate.held // the refresh is in flight on instance 0
					func() {
						defer wg.Wait()
						defer gate.Release()
						end(t, b, cookie)
					}()

					for i, a := range b.Apps {
						if status := rawStatus(t, http.MethodGet, a.URL+"/auth/verify", cookie, nil); status != http.StatusUnauthorized {
							t.Fatalf("try %d: instance %d: the ended session's cookie got %d, want 401", try, i, status)
						}
					}
				}
			})
		}
	}
}
