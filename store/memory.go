package store

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// MemoryOptions configures a Memory. The zero value is ready to use.
type MemoryOptions struct {
	// Now is the clock entries expire by. Default time.Now; tests pass the
	// clock the server runs on, so that lifetimes need no real waiting.
	Now func() time.Time
	// SweepEvery is how often expired entries are dropped in the
	// background (they are also dropped when read). Default 1 minute.
	SweepEvery time.Duration
}

// Memory is a store in process memory: the default, for a single authflow
// process. It keeps values as they were given — bytes, or (through the
// object methods) Go values that are never copied or decoded — so a
// session read is a map lookup. Call Close to stop its sweeper.
type Memory struct {
	mu      sync.Mutex
	entries map[string]memEntry
	sets    map[string]*memSet
	locks   map[string]chan struct{}
	now     func() time.Time

	stop chan struct{}
	once sync.Once
}

type memEntry struct {
	value  any // []byte, or an object
	expiry time.Time
}

type memSet struct {
	members map[string]time.Time // member → until
	expiry  time.Time
}

// NewMemory returns an empty Memory store with its sweeper running.
func NewMemory(o MemoryOptions) *Memory {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	m := &Memory{
		entries: map[string]memEntry{},
		sets:    map[string]*memSet{},
		locks:   map[string]chan struct{}{},
		now:     o.Now,
		stop:    make(chan struct{}),
	}
	go m.sweep(o.SweepEvery)
	return m
}

func (m *Memory) sweep(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.mu.Lock()
			now := m.now()
			for k, e := range m.entries {
				if !now.Before(e.expiry) {
					delete(m.entries, k)
				}
			}
			for k, st := range m.sets {
				if !now.Before(st.expiry) {
					delete(m.sets, k)
				}
			}
			m.mu.Unlock()
		}
	}
}

// Close stops the sweeper. The store stays usable.
func (m *Memory) Close() error {
	m.once.Do(func() { close(m.stop) })
	return nil
}

// get returns key's live value, or nil. The caller holds mu.
func (m *Memory) get(key string) any {
	e, ok := m.entries[key]
	if !ok {
		return nil
	}
	if !m.now().Before(e.expiry) {
		delete(m.entries, key)
		return nil
	}
	return e.value
}

func (m *Memory) put(key string, v any, ttl time.Duration) {
	m.entries[key] = memEntry{value: v, expiry: m.now().Add(ttl)}
}

// Get returns the bytes stored under key, or ErrNotFound.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.get(key).([]byte)
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(b), nil
}

// Delete removes key; a missing key is not an error.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// SetNew stores value under key for ttl only if key does not exist, and
// reports whether it did: of two concurrent SetNews of one key, one wins.
func (m *Memory) SetNew(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return m.setNew(key, bytes.Clone(value), ttl), nil
}

func (m *Memory) setNew(key string, v any, ttl time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.get(key) != nil {
		return false
	}
	m.put(key, v, ttl)
	return true
}

// CompareAndSwap stores value under key for ttl only if key holds old, and
// reports whether it did. A missing key is never swapped.
func (m *Memory) CompareAndSwap(_ context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.get(key).([]byte)
	if !ok || !bytes.Equal(cur, old) {
		return false, nil
	}
	m.put(key, bytes.Clone(value), ttl)
	return true, nil
}

// GetObject returns the object stored under key, or ErrNotFound. The
// object is shared: callers must treat it as immutable.
func (m *Memory) GetObject(_ context.Context, key string) (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.get(key)
	if v == nil {
		return nil, ErrNotFound
	}
	if _, isBytes := v.([]byte); isBytes {
		return nil, ErrNotFound
	}
	return v, nil
}

// SetNewObject is SetNew for an object (a non-nil pointer, never mutated
// afterwards).
func (m *Memory) SetNewObject(_ context.Context, key string, v any, ttl time.Duration) (bool, error) {
	return m.setNew(key, v, ttl), nil
}

// SwapObject is CompareAndSwap for objects: it replaces old (compared by
// identity) with v.
func (m *Memory) SwapObject(_ context.Context, key string, old, v any, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.get(key)
	if cur == nil || cur != old {
		return false, nil
	}
	m.put(key, v, ttl)
	return true, nil
}

// set returns the live set named key, or nil. The caller holds mu.
func (m *Memory) set(key string) *memSet {
	st, ok := m.sets[key]
	if !ok {
		return nil
	}
	if !m.now().Before(st.expiry) {
		delete(m.sets, key)
		return nil
	}
	return st
}

// AddMember adds member to the set named key, as a member until until.
// Members whose until has passed by now are dropped, and the set lives as
// long as its longest-lived member.
func (m *Memory) AddMember(_ context.Context, key, member string, now, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.set(key)
	if st == nil {
		st = &memSet{members: map[string]time.Time{}}
		m.sets[key] = st
	}
	for k, u := range st.members {
		if !now.Before(u) {
			delete(st.members, k)
		}
	}
	st.members[member] = until
	if exp := m.now().Add(until.Sub(now)); exp.After(st.expiry) {
		st.expiry = exp
	}
	return nil
}

// Members returns the members of the set named key that are still members
// at now; none when it does not exist.
func (m *Memory) Members(_ context.Context, key string, now time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.set(key)
	if st == nil {
		return nil, nil
	}
	out := make([]string, 0, len(st.members))
	for k, u := range st.members {
		if now.Before(u) {
			out = append(out, k)
		}
	}
	return out, nil
}

// RemoveMember removes member from the set named key.
func (m *Memory) RemoveMember(_ context.Context, key, member string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.set(key); st != nil {
		delete(st.members, member)
		if len(st.members) == 0 {
			delete(m.sets, key)
		}
	}
	return nil
}

// Lock waits until it holds the lock named key, or ctx ends; unlock
// releases it. In one process a holder cannot die without its process, so
// the lock needs no expiry.
func (m *Memory) Lock(ctx context.Context, key string) (func(), error) {
	for {
		m.mu.Lock()
		held, busy := m.locks[key]
		if !busy {
			ch := make(chan struct{})
			m.locks[key] = ch
			m.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					m.mu.Lock()
					delete(m.locks, key)
					m.mu.Unlock()
					close(ch)
				})
			}, nil
		}
		m.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
