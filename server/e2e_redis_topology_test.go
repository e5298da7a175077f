package server_test

// authflow over the Redis topologies an operator runs: a primary behind
// Sentinel and a three-node Cluster, each started by the tests themselves.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// commandCounter is a go-redis hook that counts the commands a client
// sends (a pipeline counts each of its commands).
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// TestRedisTopologies: over Sentinel and over Cluster, with two instances
// on their own connections, a login on one instance is live on the other,
// each forward-auth check is exactly one Redis command, a refresh runs once
// for both, and a back-channel logout received by one ends the session on
// both.
func TestRedisTopologies(t *testing.T) {
	t.Parallel()
	for _, mode := range []redisstore.Mode{redisstore.Sentinel, redisstore.Cluster} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			u := testredis.SentinelURL(t)
			if mode == redisstore.Cluster {
				u = testredis.ClusterURL(t)
			}
			prefix := fmt.Sprintf("authflow-test:%d:%s:", time.Now().UnixNano(), t.Name())
			counters := []*commandCounter{{}, {}}
			b := authtest.New(t, authtest.Options{Instances: 2, NewStore: func(t testing.TB, i int) server.Store {
				s, err := redisstore.Open(context.Background(), redisstore.Options{URL: u, Mode: mode, Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				s.Client().AddHook(counters[i])
				t.Cleanup(func() { s.Close() })
				return s
			}})
			br := b.NewBrowser()
			b.Route(0)
			br.MustLogin("dev", authtest.Ada())
			cookie := br.Cookie(rsCookieName)
			hdr := http.Header{"Cookie": {rsCookieName + "=" + cookie}}
			c := &http.Client{Timeout: 10 * time.Second}

			before := counters[1].n.Load()
			for i := 0; i < 10; i++ {
				if status, body, err := rsFetch(c, http.MethodGet, b.Apps[1].URL+"/auth/verify", hdr); err != nil || status != http.StatusOK {
					t.Fatalf("verify on instance 1: %d %s %v", status, body, err)
				}
			}
			if n := counters[1].n.Load() - before; n != 10 {
				t.Errorf("10 checks on instance 1 sent %d Redis commands, want 10 (one each)", n)
			}

			b.Clock.Advance(6 * time.Minute) // the access token is due
			errs := rsRunConcurrently(20, func(i int) error {
				status, body, err := rsFetch(c, http.MethodGet, b.Apps[i%2].URL+"/auth/verify", hdr)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("instance %d: %d %s", i%2, status, body)
				}
				return err
			})
			for _, err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if n := rsGrants(b); n != 1 {
				t.Errorf("%d refresh grants for 20 checks on two instances, want 1", n)
			}

			claims := logoutClaims(b, authtest.Ada().ID, "")
			now := b.Clock.Now()
			claims["iat"], claims["exp"] = now.Unix(), now.Add(2*time.Minute).Unix()
			raw, err := b.IdP.SignJWT(nil, claims)
			if err != nil {
				t.Fatal(err)
			}
			if status, body := postLogout(t, b, b.Apps[1].URL+"/auth/dev/backchannel-logout", url.Values{"logout_token": {raw}}); status != http.StatusOK {
				t.Fatalf("back-channel logout: %d %s", status, body)
			}
			for i, a := range b.Apps {
				if status, _, _ := rsFetch(c, http.MethodGet, a.URL+"/auth/verify", hdr); status != http.StatusUnauthorized {
					t.Errorf("instance %d after the logout: %d, want 401", i, status)
				}
			}
		})
	}
}
