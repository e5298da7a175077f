package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store"
	"github.com/redis/go-redis/v9"
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
					unlock, err := s.Lock(ctx, "refresh:abc")
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
			unlock, err := s.Lock(ctx, "held")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if _, err := s.Lock(cctx, "held"); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Lock on a held lock: %v, want deadline exceeded", err)
			}
		})
	}
}

// TestRedisLockExpires: a lock whose holder died (its renewals stopped:
// here its connection is closed) is free within the lock's ttl; a living
// holder keeps it past that ttl, by renewal.
func TestRedisLockExpires(t *testing.T) {
	ctx := context.Background()
	_, prefix := testredis.Client(t)
	opts, err := redis.ParseURL(testredis.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *store.Redis {
		s := store.NewRedis(redis.NewClient(opts), prefix)
		store.SetLockTTL(s, 150*time.Millisecond)
		t.Cleanup(func() { s.Close() })
		return s
	}
	holder, waiter := open(), open()

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
	unlock2, err := waiter.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	unlock2()

	dying := open()
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

// TestCompareAndSwap: a swap happens only over the value the writer read;
// a deleted key is never written back.
func TestCompareAndSwap(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			s.Set(ctx, "r", []byte("v1"), time.Minute)
			if ok, err := s.CompareAndSwap(ctx, "r", []byte("v0"), []byte("x"), time.Minute); ok || err != nil {
				t.Errorf("swap over a stale value = %v, %v; want false", ok, err)
			}
			if ok, err := s.CompareAndSwap(ctx, "r", []byte("v1"), []byte("v2"), time.Minute); !ok || err != nil {
				t.Errorf("swap over the current value = %v, %v; want true", ok, err)
			}
			if v, _ := s.Get(ctx, "r"); string(v) != "v2" {
				t.Errorf("after the swap: %q", v)
			}
			s.Delete(ctx, "r")
			if ok, err := s.CompareAndSwap(ctx, "r", []byte("v2"), []byte("v3"), time.Minute); ok || err != nil {
				t.Errorf("swap over a deleted key = %v, %v; want false", ok, err)
			}
			if _, err := s.Get(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a deleted key came back: %v", err)
			}
			// Of concurrent swaps over one value, one wins.
			s.Set(ctx, "c", []byte("0"), time.Minute)
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if ok, _ := s.CompareAndSwap(ctx, "c", []byte("0"), []byte{byte('a' + i)}, time.Minute); ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Errorf("%d concurrent swaps won, want 1", n)
			}
		})
	}
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
			now := time.Now()
			if m, err := s.Members(ctx, "none", now); err != nil || len(m) != 0 {
				t.Errorf("Members of a missing set = %v, %v", m, err)
			}
			for _, m := range []string{"a", "b", "a"} {
				if err := s.AddMember(ctx, "set", m, now, now.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := s.Members(ctx, "set", now)
			sort.Strings(got)
			if !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("Members = %v, want a and b", got)
			}
			s.RemoveMember(ctx, "set", "a")
			if got, _ := s.Members(ctx, "set", now); !slices.Equal(got, []string{"b"}) {
				t.Errorf("after RemoveMember: %v, want [b]", got)
			}
			// Members live until their own until, on the caller's clock; a
			// later AddMember drops the ones that are over.
			s.AddMember(ctx, "set", "c", now, now.Add(10*time.Second))
			later := now.Add(20 * time.Second)
			if got, _ := s.Members(ctx, "set", later); !slices.Equal(got, []string{"b"}) {
				t.Errorf("Members 20 s on: %v, want [b] (c's 10 s are over)", got)
			}
			s.AddMember(ctx, "set", "d", later, later.Add(time.Minute))
			if got, _ := s.Members(ctx, "set", now); len(got) != 2 {
				t.Errorf("after an AddMember past c's until: %v, want b and d (c dropped)", got)
			}
			// A set expires with its longest-lived member.
			s.AddMember(ctx, "short", "x", now, now.Add(50*time.Millisecond))
			time.Sleep(120 * time.Millisecond)
			if got, _ := s.Members(ctx, "short", now); len(got) != 0 {
				t.Errorf("expired set: %v", got)
			}
		})
	}
}
