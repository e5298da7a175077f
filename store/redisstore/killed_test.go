package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestConnectionsClosedByServer: after Redis closes every connection in
// the store's pool (a restart, a proxy's idle timeout), reads still
// succeed, reads and writes: each dead connection is found by its EOF and
// the command sent again on another (authflow's clients do not peek at
// sockets before use; see plainConn).
func TestConnectionsClosedByServer(t *testing.T) {
	name := strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
	s, err := redisstore.Open(t.Context(), redisstore.Options{URL: testredis.URL(t) + "?client_name=" + name + "&min_idle_conns=4",
		Prefix: "authflow-test:" + name + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if ok, err := s.SetNew(ctx, "k", []byte("head\nbody"), time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	defer s.Delete(ctx, "k")
	for round := range 3 {
		// Fill the pool: concurrent reads, and min_idle_conns, which the
		// pool meets in the background (a fast machine serves 32 reads
		// on one connection).
		admin, _ := testredis.Client(t)
		killed := killConns(t, admin, name, fillPool(t, s, admin, name, "k", 2))
		if killed < 2 {
			t.Fatalf("round %d: killed %d connections, want the pool's", round, killed)
		}
		failed := 0
		for i := range 20 {
			if i%2 == 1 { // a write: SET NX of a new key
				if ok, err := s.SetNew(ctx, fmt.Sprintf("w%d-%d", round, i), []byte("x"), time.Minute); !ok || err != nil {
					failed++
					t.Logf("round %d: write %d after %d connections were closed: %v, %v", round, i, killed, ok, err)
				}
				continue
			}
			if v, err := s.GetHead(ctx, "k", 5); err != nil || v != "head\n" {
				failed++
				t.Logf("round %d: read %d after %d connections were closed: %q, %v", round, i, killed, v, err)
			}
		}
		if failed > 0 {
			t.Errorf("round %d: %d of 20 commands failed after the server closed %d connections", round, failed, killed)
		}
	}
}

// fillPool reads key concurrently until Redis lists at least min
// connections of the client named name (the pool also dials its
// min_idle_conns in the background: a fast machine serves 32 concurrent
// reads on one connection), and returns Redis's CLIENT LIST.
func fillPool(t *testing.T, s *redisstore.Store, admin *redis.Client, name, key string, min int) string {
	t.Helper()
	ctx := context.Background()
	for try := 0; ; try++ {
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() { s.GetString(ctx, key) })
		}
		wg.Wait()
		list, err := admin.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(list, " name="+name+" ") >= min || try == 100 {
			return list
		}
		time.Sleep(20 * time.Millisecond) // the pool dials in the background
	}
}

// killConns closes, from Redis's side, every connection in list (a CLIENT
// LIST) of the client named name, and returns how many it closed.
func killConns(t *testing.T, admin *redis.Client, name, list string) int {
	t.Helper()
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if err := admin.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
					t.Fatal(err)
				}
				killed++
			}
		}
	}
	return killed
}
