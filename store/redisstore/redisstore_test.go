package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/storetest"
	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store/redisstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testredis.Stop()
	os.Exit(code)
}

// open returns a store on a fresh prefix in the topology of mode.
func open(t *testing.T, mode redisstore.Mode) *redisstore.Store {
	t.Helper()
	return openPrefix(t, mode, fmt.Sprintf("authflow-test:%d:%s:", time.Now().UnixNano(), t.Name()))
}

// openPrefix returns a store on prefix, with its own connections, as
// another authflow process would have.
func openPrefix(t *testing.T, mode redisstore.Mode, prefix string) *redisstore.Store {
	t.Helper()
	var u string
	switch mode {
	case redisstore.Single:
		u = testredis.URL(t)
	case redisstore.Sentinel:
		u = testredis.SentinelURL(t)
	case redisstore.Cluster:
		u = testredis.ClusterURL(t)
	}
	s, err := redisstore.Open(context.Background(), redisstore.Options{URL: u, Mode: mode, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store suite on a single Redis, on a primary
// found through Sentinel, and on a three-node Cluster.
func TestConformance(t *testing.T) {
	for _, mode := range []redisstore.Mode{redisstore.Single, redisstore.Sentinel, redisstore.Cluster} {
		t.Run(string(mode), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) (storetest.Store, func(time.Duration)) {
				return open(t, mode), time.Sleep // Redis expires keys on its own clock
			})
		})
	}
}

// TestLockRenewedAndFreed: a living holder keeps its lock past the lock's
// ttl, by renewal; a holder that died (its connection closed, so it can
// neither renew nor release) leaves it for one ttl at most.
func TestLockRenewedAndFreed(t *testing.T) {
	ctx := context.Background()
	prefix := fmt.Sprintf("authflow-test:%d:lock:", time.Now().UnixNano())
	holder, waiter := openPrefix(t, redisstore.Single, prefix), openPrefix(t, redisstore.Single, prefix)
	for _, s := range []*redisstore.Store{holder, waiter} {
		redisstore.SetLockTTL(s, 150*time.Millisecond)
	}
	unlock, err := holder.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // over three ttls: renewed meanwhile
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := waiter.Lock(cctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a living holder's lock was taken after its ttl: %v", err)
	}
	cancel()
	unlock()

	dying := openPrefix(t, redisstore.Single, prefix)
	redisstore.SetLockTTL(dying, 150*time.Millisecond)
	if _, err := dying.Lock(ctx, "d"); err != nil { // never unlocked
		t.Fatal(err)
	}
	dying.Close()
	cctx, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	unlock3, err := waiter.Lock(cctx, "d")
	if err != nil {
		t.Fatalf("a dead holder's lock was not freed after its ttl: %v", err)
	}
	unlock3()
}

// TestOpenErrors: bad settings are refused with the reason, and no
// password ever appears in the error.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		o    redisstore.Options
		want string
	}{
		{redisstore.Options{URL: "http://x", Mode: redisstore.Single}, "redis url"},
		{redisstore.Options{URL: "redis://127.0.0.1:1", Mode: "ring"}, `redis mode "ring"`},
		{redisstore.Options{URL: "redis://127.0.0.1:1", Mode: redisstore.Sentinel}, "no master_name"},
		{redisstore.Options{URL: "redis://u:hunter2@127.0.0.1:1/0"}, "redis at 127.0.0.1:1"},
	} {
		_, err := redisstore.Open(ctx, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%+v) = %v; want an error containing %q and no password", tt.o, err, tt.want)
		}
	}
}
