package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetLockTTL shortens s's lock lifetime, so that tests of expiry and
// renewal run in milliseconds.
func SetLockTTL(s *Store, d time.Duration) { s.lockTTL = d }

// OpenForBench returns a Store over a single Redis at url with the client
// Open makes, changed by mod when not nil, under a prefix of its own.
func OpenForBench(b *testing.B, url string, mod func(*redis.Options)) *Store {
	c, _, err := newClient(Options{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	if mod != nil {
		opts := c.(*redis.Client).Options()
		c.Close()
		mod(opts)
		c = redis.NewClient(opts)
	}
	b.Cleanup(func() { c.Close() })
	return New(c, fmt.Sprintf("authflow-bench:%d:", time.Now().UnixNano()))
}

// Queued is the number of GetHead reads of s waiting for a batch.
func Queued(s *Store) int {
	s.heads.mu.Lock()
	defer s.heads.mu.Unlock()
	return len(s.heads.queue)
}

// SetHeadSlots sets the round trips GetHead has in flight at most.
func SetHeadSlots(s *Store, n int) { s.heads.slots = n }

// Key is the Redis key s keeps key at.
func Key(s *Store, key string) string { return s.prefix + key }
