package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/storetest"
	"github.com/authflow/authflow/store"
)

// clock is a settable clock for a Memory.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openMemory(t *testing.T) (*store.Memory, *clock) {
	c := &clock{t: time.Now()}
	m := store.NewMemory(store.MemoryOptions{Now: c.Now})
	t.Cleanup(func() { m.Close() })
	return m, c
}

func TestMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) (storetest.Store, func(time.Duration)) {
		m, c := openMemory(t)
		return m, c.Advance
	})
}

// TestMemoryObjects: objects are kept as given (no copy, no decode), swapped
// only over the object that was read, and never written back once deleted.
func TestMemoryObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, c := openMemory(t)
	type rec struct{ n int }
	a, b := &rec{1}, &rec{2}
	if ok, _ := m.SetNewObject(ctx, "r", a, time.Minute); !ok {
		t.Fatal("SetNewObject refused a new key")
	}
	if ok, _ := m.SetNewObject(ctx, "r", b, time.Minute); ok {
		t.Error("SetNewObject over an existing key")
	}
	if v, err := m.GetObject(ctx, "r"); err != nil || v != a {
		t.Errorf("GetObject = %v, %v; want the very object stored", v, err)
	}
	if ok, _ := m.SwapObject(ctx, "r", b, &rec{3}, time.Minute); ok {
		t.Error("SwapObject over an object that is not the current one")
	}
	if ok, _ := m.SwapObject(ctx, "r", a, b, time.Minute); !ok {
		t.Error("SwapObject over the current object refused")
	}
	m.Delete(ctx, "r")
	if ok, _ := m.SwapObject(ctx, "r", b, a, time.Minute); ok {
		t.Error("SwapObject wrote a deleted key back")
	}
	m.SetNewObject(ctx, "short", a, time.Second)
	c.Advance(2 * time.Second)
	if _, err := m.GetObject(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired GetObject: %v", err)
	}
	// Bytes and objects do not read as each other.
	m.SetNew(ctx, "bytes", []byte("x"), time.Minute)
	if _, err := m.GetObject(ctx, "bytes"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject of bytes: %v", err)
	}
	m.SetNewObject(ctx, "obj", a, time.Minute)
	if _, err := m.Get(ctx, "obj"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of an object: %v", err)
	}
}
