// Package storetest is the conformance suite every authflow store passes:
// the in-memory one (package store) and Redis in each of its topologies
// (package store/redisstore). Each property the server relies on — a
// deleted record never comes back, one of many concurrent writers wins, a
// lock has one holder — is a subtest.
package storetest

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/store"
)

// Store is what the suite tests: the methods the server's store interface
// and its optional capabilities ask for.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	SetNew(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
	Delete(ctx context.Context, key string) error
	AddMember(ctx context.Context, key, member string, now, until time.Time) error
	Members(ctx context.Context, key string, now time.Time) ([]string, error)
	RemoveMember(ctx context.Context, key, member string) error
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Opener returns a fresh, empty store for t, and a function that lets the
// store's clock move on by d (the injected clock of a memory store; real
// time, slept, for Redis, whose expiry runs on its own clock).
type Opener func(t *testing.T) (s Store, elapse func(d time.Duration))

// Run runs the suite against stores from open.
func Run(t *testing.T, open Opener) {
	t.Run("values", func(t *testing.T) { testValues(t, open) })
	t.Run("SetNew once", func(t *testing.T) { testSetNewOnce(t, open) })
	t.Run("CompareAndSwap", func(t *testing.T) { testCompareAndSwap(t, open) })
	t.Run("sets", func(t *testing.T) { testSets(t, open) })
	t.Run("lock", func(t *testing.T) { testLock(t, open) })
	if s, _ := open(t); isHeadGetter(s) { // the memory store keeps records as objects
		t.Run("GetHead", func(t *testing.T) { testGetHead(t, open) })
	}
}

func isHeadGetter(s Store) bool {
	_, ok := s.(headGetter)
	return ok
}

// headGetter is the optional capability /auth/verify reads a record's
// head with.
type headGetter interface {
	GetHead(ctx context.Context, key string, n int) (string, error)
}

// testGetHead: a store with GetHead answers the first n bytes of the
// value (all of it when shorter), ErrNotFound for a missing, deleted or
// expired key, and the new value after a swap.
func testGetHead(t *testing.T, open Opener) {
	ctx := context.Background()
	s, elapse := open(t)
	h := s.(headGetter)
	if _, err := h.GetHead(ctx, "nope", 8); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetHead missing: %v, want ErrNotFound", err)
	}
	s.SetNew(ctx, "r", []byte("head\nbody"), time.Minute)
	for n, want := range map[int]string{1: "h", 5: "head\n", 9: "head\nbody", 64: "head\nbody"} {
		if v, err := h.GetHead(ctx, "r", n); err != nil || v != want {
			t.Errorf("GetHead(%d) = %q, %v; want %q", n, v, err, want)
		}
	}
	if ok, err := s.CompareAndSwap(ctx, "r", []byte("head\nbody"), []byte("next\nbody"), time.Minute); !ok || err != nil {
		t.Fatalf("swap = %v, %v", ok, err)
	}
	if v, err := h.GetHead(ctx, "r", 5); err != nil || v != "next\n" {
		t.Errorf("GetHead after a swap = %q, %v", v, err)
	}
	s.Delete(ctx, "r")
	if _, err := h.GetHead(ctx, "r", 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetHead deleted: %v, want ErrNotFound", err)
	}
	s.SetNew(ctx, "short", []byte("x\ny"), 50*time.Millisecond)
	elapse(120 * time.Millisecond)
	if _, err := h.GetHead(ctx, "short", 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetHead expired: %v, want ErrNotFound", err)
	}
}

func testValues(t *testing.T, open Opener) {
	ctx := context.Background()
	s, elapse := open(t)
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	if ok, err := s.SetNew(ctx, "k", []byte("v1"), time.Minute); !ok || err != nil {
		t.Fatalf("SetNew = %v, %v", ok, err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v1" {
		t.Errorf("Get = %q, %v", v, err)
	}
	s.Delete(ctx, "k")
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted Get: %v", err)
	}
	s.SetNew(ctx, "short", []byte("x"), 50*time.Millisecond)
	elapse(120 * time.Millisecond)
	if _, err := s.Get(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired Get: %v, want ErrNotFound", err)
	}
	if ok, err := s.SetNew(ctx, "short", []byte("y"), time.Minute); !ok || err != nil {
		t.Errorf("SetNew after expiry = %v, %v; want true", ok, err)
	}
}

// testSetNewOnce: of many concurrent SetNews of one key exactly one wins —
// what makes a logout token's jti and a login's state single-use across
// processes.
func testSetNewOnce(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
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
}

// testCompareAndSwap: a swap happens only over the value the writer read;
// a deleted key is never written back; of concurrent swaps one wins.
func testCompareAndSwap(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	s.SetNew(ctx, "r", []byte("v1"), time.Minute)
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
	s.SetNew(ctx, "c", []byte("0"), time.Minute)
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
}

// testSets: index members live until their own until, on the caller's
// clock, and an AddMember drops the ones that are over.
func testSets(t *testing.T, open Opener) {
	ctx := context.Background()
	s, elapse := open(t)
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
	s.AddMember(ctx, "set", "c", now, now.Add(10*time.Second))
	later := now.Add(20 * time.Second)
	if got, _ := s.Members(ctx, "set", later); !slices.Equal(got, []string{"b"}) {
		t.Errorf("Members 20 s on: %v, want [b] (c's 10 s are over)", got)
	}
	s.AddMember(ctx, "set", "d", later, later.Add(time.Minute))
	if got, _ := s.Members(ctx, "set", now); len(got) != 2 {
		t.Errorf("after an AddMember past c's until: %v, want b and d (c dropped)", got)
	}
	s.AddMember(ctx, "short", "x", now, now.Add(50*time.Millisecond))
	elapse(120 * time.Millisecond)
	if got, _ := s.Members(ctx, "short", now); len(got) != 0 {
		t.Errorf("expired set: %v", got)
	}
}

// testLock: holders of one lock never overlap, and a waiter gives up when
// its context ends.
func testLock(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
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
			time.Sleep(time.Millisecond) // hold it while others try
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
}
