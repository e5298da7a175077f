package store_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testredis.Stop()
	os.Exit(code)
}

// backends returns each Store implementation, fresh for the test.
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"memory": func(t *testing.T) store.Store {
			m := store.NewMemory()
			t.Cleanup(func() { m.Close() })
			return m
		},
		"redis": func(t *testing.T) store.Store {
			c, prefix := testredis.Client(t)
			return store.NewRedis(c, prefix)
		},
	}
}

func TestStore(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			if _, err := s.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get missing: %v, want ErrNotFound", err)
			}
			if err := s.Set(ctx, "k", []byte("v1"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v1" {
				t.Errorf("Get = %q, %v", v, err)
			}
			if v, err := s.Take(ctx, "k"); err != nil || string(v) != "v1" {
				t.Errorf("Take = %q, %v", v, err)
			}
			if _, err := s.Take(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second Take: %v, want ErrNotFound (single use)", err)
			}
			s.Set(ctx, "short", []byte("x"), 50*time.Millisecond)
			time.Sleep(120 * time.Millisecond)
			if _, err := s.Get(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expired Get: %v, want ErrNotFound", err)
			}
			s.Set(ctx, "d", []byte("x"), time.Minute)
			s.Delete(ctx, "d")
			if _, err := s.Get(ctx, "d"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deleted Get: %v", err)
			}
		})
	}
}

// TestTakeOnce: of many concurrent Takes of one key exactly one wins — the
// property that makes a login state single-use across processes.
func TestTakeOnce(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			for round := 0; round < 20; round++ {
				s.Set(ctx, "state", []byte("x"), time.Minute)
				var wins atomic.Int32
				var wg sync.WaitGroup
				for i := 0; i < 16; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := s.Take(ctx, "state"); err == nil {
							wins.Add(1)
						}
					}()
				}
				wg.Wait()
				if wins.Load() != 1 {
					t.Fatalf("round %d: %d Takes won, want 1", round, wins.Load())
				}
			}
		})
	}
}

// TestLock: holders of one lock never overlap, and a waiter gives up when
// its context ends.
func TestLock(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			var inside, maxInside atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					unlock, err := s.Lock(ctx, "refresh:abc", 5*time.Second)
					if err != nil {
						t.Error(err)
						return
					}
					n := inside.Add(1)
					for {
						m := maxInside.Load()
						if n <= m || maxInside.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(5 * time.Millisecond)
					inside.Add(-1)
					unlock()
				}()
			}
			wg.Wait()
			if maxInside.Load() != 1 {
				t.Errorf("%d holders at once, want 1", maxInside.Load())
			}
			unlock, err := s.Lock(ctx, "held", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if _, err := s.Lock(cctx, "held", 5*time.Second); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Lock on a held lock: %v, want deadline exceeded", err)
			}
		})
	}
}

// TestRedisLockExpires: a lock whose holder died is free after its ttl.
func TestRedisLockExpires(t *testing.T) {
	c, prefix := testredis.Client(t)
	s := store.NewRedis(c, prefix)
	ctx := context.Background()
	if _, err := s.Lock(ctx, "k", 100*time.Millisecond); err != nil { // never unlocked
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	unlock, err := s.Lock(cctx, "k", time.Second)
	if err != nil {
		t.Fatalf("lock not freed after its ttl: %v", err)
	}
	unlock()
}

// TestSetNewOnce: of many concurrent SetNews of one key exactly one wins —
// what makes a logout token's jti single-use across processes.
func TestSetNewOnce(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.SetNew(ctx, "jti", []byte("x"), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Errorf("%d SetNews won, want 1", n)
			}
			// After expiry the key can be set anew.
			s.SetNew(ctx, "short", []byte("x"), 50*time.Millisecond)
			time.Sleep(120 * time.Millisecond)
			if ok, err := s.SetNew(ctx, "short", []byte("y"), time.Minute); !ok || err != nil {
				t.Errorf("SetNew after expiry = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestSets(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			if m, err := s.Members(ctx, "none"); err != nil || len(m) != 0 {
				t.Errorf("Members of a missing set = %v, %v", m, err)
			}
			for _, m := range []string{"a", "b", "a"} {
				if err := s.AddMember(ctx, "set", m, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := s.Members(ctx, "set")
			if len(got) != 2 || !(got[0] == "a" && got[1] == "b" || got[0] == "b" && got[1] == "a") {
				t.Errorf("Members = %v, want a and b", got)
			}
			s.RemoveMember(ctx, "set", "a")
			if got, _ := s.Members(ctx, "set"); len(got) != 1 || got[0] != "b" {
				t.Errorf("after RemoveMember: %v, want [b]", got)
			}
			// A short ttl never shortens the set's life; a set expires.
			s.AddMember(ctx, "set", "c", 10*time.Millisecond)
			s.AddMember(ctx, "short", "x", 50*time.Millisecond)
			time.Sleep(120 * time.Millisecond)
			if got, _ := s.Members(ctx, "set"); len(got) != 2 {
				t.Errorf("set after a shorter AddMember: %v, want b and c still", got)
			}
			if got, _ := s.Members(ctx, "short"); len(got) != 0 {
				t.Errorf("expired set: %v", got)
			}
		})
	}
}
