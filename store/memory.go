package store

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Memory is a Store in process memory: the default, for a single authflow
// process. Expired entries are dropped on access and by a sweep each minute.
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
	value  []byte
	expiry time.Time
}

type memSet struct {
	members map[string]time.Time // member → until
	expiry  time.Time
}

// NewMemory returns an empty Memory store. Call Close to stop its sweeper.
func NewMemory() *Memory {
	m := &Memory{
		entries: map[string]memEntry{},
		sets:    map[string]*memSet{},
		locks:   map[string]chan struct{}{},
		now:     time.Now,
		stop:    make(chan struct{}),
	}
	go m.sweep(time.Minute)
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

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = memEntry{value: append([]byte(nil), value...), expiry: m.now().Add(ttl)}
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(key)
}

func (m *Memory) get(key string) ([]byte, error) {
	e, ok := m.entries[key]
	if !ok {
		return nil, ErrNotFound
	}
	if !m.now().Before(e.expiry) {
		delete(m.entries, key)
		return nil, ErrNotFound
	}
	return append([]byte(nil), e.value...), nil
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.get(key)
	delete(m.entries, key)
	return v, err
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// SetNew implements Store.
func (m *Memory) SetNew(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.get(key); err == nil {
		return false, nil
	}
	m.entries[key] = memEntry{value: append([]byte(nil), value...), expiry: m.now().Add(ttl)}
	return true, nil
}

// CompareAndSwap implements Store.
func (m *Memory) CompareAndSwap(_ context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.get(key)
	if err != nil || !bytes.Equal(cur, old) {
		return false, nil
	}
	m.entries[key] = memEntry{value: append([]byte(nil), value...), expiry: m.now().Add(ttl)}
	return true, nil
}

// set returns the live set named key, or nil.
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

// AddMember implements Store.
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

// Members implements Store.
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

// RemoveMember implements Store.
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

// Lock implements Store. In one process a holder cannot die without its
// process, so the lock needs no expiry.
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

// Sessions implements Store: browser sessions live in the same map, under
// "session:" keys, and expire with it.
func (m *Memory) Sessions() scs.Store { return memSessions{m} }

// Close stops the sweeper.
func (m *Memory) Close() error {
	m.once.Do(func() { close(m.stop) })
	return nil
}

// memSessions is the scs.Store view of a Memory.
type memSessions struct{ m *Memory }

func (s memSessions) Find(token string) ([]byte, bool, error) {
	v, err := s.m.Get(context.Background(), "session:"+token)
	if err != nil {
		return nil, false, nil
	}
	return v, true, nil
}

func (s memSessions) Commit(token string, b []byte, expiry time.Time) error {
	return s.m.Set(context.Background(), "session:"+token, b, expiry.Sub(s.m.now()))
}

func (s memSessions) Delete(token string) error {
	return s.m.Delete(context.Background(), "session:"+token)
}
