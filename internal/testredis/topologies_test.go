package testredis

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// TestTopologies: the Sentinel and Cluster set-ups answer through go-redis's
// own URL parsers, as authflow's settings will use them.
func TestTopologies(t *testing.T) {
	ctx := context.Background()
	fo, err := redis.ParseFailoverURL(SentinelURL(t))
	if err != nil {
		t.Fatal(err)
	}
	s := redis.NewFailoverClient(fo)
	defer s.Close()
	if err := s.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("sentinel: %v", err)
	}
	co, err := redis.ParseClusterURL(ClusterURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClusterClient(co)
	defer c.Close()
	for _, k := range []string{"a", "b", "c", "d", "e"} { // keys on several nodes
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("cluster: %v", err)
		}
	}
}
