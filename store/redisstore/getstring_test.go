package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/store/redisstore"
)

// TestGetString: the session read (autopipelined) answers what Get does, on
// every topology, for one caller and for many at once, and sees a write
// made just before it.
func TestGetString(t *testing.T) {
	for _, mode := range []redisstore.Mode{redisstore.Single, redisstore.Sentinel, redisstore.Cluster} {
		t.Run(string(mode), func(t *testing.T) {
			s := open(t, mode)
			ctx := context.Background()
			if _, err := s.GetString(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("missing key: %v, want store.ErrNotFound", err)
			}
			big := strings.Repeat("v", 4096)
			var wg sync.WaitGroup
			for i := range 64 {
				wg.Go(func() {
					key := "k" + string(rune('a'+i%26)) + string(rune('a'+i/26))
					val := key + "\n" + big
					if ok, err := s.SetNew(ctx, key, []byte(val), time.Minute); err != nil || !ok {
						t.Errorf("SetNew %s: %v %v", key, ok, err)
						return
					}
					for range 20 {
						got, err := s.GetString(ctx, key)
						if err != nil || got != val {
							t.Errorf("GetString %s: %d bytes, %v", key, len(got), err)
							return
						}
					}
					next := key + "\nnext"
					if ok, err := s.CompareAndSwap(ctx, key, []byte(val), []byte(next), time.Minute); err != nil || !ok {
						t.Errorf("CompareAndSwap %s: %v %v", key, ok, err)
						return
					}
					if got, err := s.GetString(ctx, key); err != nil || got != next {
						t.Errorf("GetString %s after a swap: %q, %v", key, got, err)
					}
					s.Delete(ctx, key)
					if _, err := s.GetString(ctx, key); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("GetString %s after a delete: %v", key, err)
					}
				})
			}
			wg.Wait()
		})
	}
}
