package server

import (
	"context"
	"time"

	"github.com/authflow/authflow/store"
)

// Store is what a Server keeps its shared state in: session records, the
// login spent-list and key, logout-token ids. Every instance of one
// deployment shares one Store. Missing keys are store.ErrNotFound.
//
// store.Memory (the default) is for one process; redisstore.Store (package
// store/redisstore) shares state between processes over Redis, Sentinel or
// Cluster. Both also provide the optional capabilities below, which the
// Server finds by type assertion.
type Store interface {
	// Get returns the value of key.
	Get(ctx context.Context, key string) ([]byte, error)
	// SetNew stores value under key for ttl only if key does not exist, and
	// reports whether it did: of two concurrent SetNews, one wins.
	SetNew(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// CompareAndSwap stores value under key for ttl only if key holds old,
	// and reports whether it did. A missing key is never swapped: a
	// session record once deleted stays deleted, whatever writer was in
	// flight.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Locker is an optional Store capability: a lock shared by every instance,
// so that one refresh runs per session however many instances see it due.
// Without it, refreshes are joined within each process only.
type Locker interface {
	// Lock waits until it holds the lock named key, or ctx ends. A holder
	// that dies without calling unlock leaves it for a few seconds at most.
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Indexer is an optional Store capability: sets of session ids by IdP
// session and by user, which back-channel logout needs to find the sessions
// a logout token names on any instance. Without it, a strategy with
// "backchannel_logout" is refused.
type Indexer interface {
	// AddMember adds member to the set named key until until; members past
	// their until at now are dropped.
	AddMember(ctx context.Context, key, member string, now, until time.Time) error
	// Members returns the members of key still live at now.
	Members(ctx context.Context, key string, now time.Time) ([]string, error)
	// RemoveMember removes member from the set named key.
	RemoveMember(ctx context.Context, key, member string) error
}

// ObjectStore is an optional Store capability of a store in this process:
// it keeps Go values as given, so that a session is read without a copy or
// a decode. Objects are never mutated once stored; SwapObject compares by
// identity.
type ObjectStore interface {
	GetObject(ctx context.Context, key string) (any, error)
	SetNewObject(ctx context.Context, key string, v any, ttl time.Duration) (bool, error)
	SwapObject(ctx context.Context, key string, old, v any, ttl time.Duration) (bool, error)
}

// StringGetter is an optional Store capability: Get, answering a string,
// for a store whose client holds the value as one (go-redis), so that a
// session read copies nothing and the decoded record can point into it.
type StringGetter interface {
	GetString(ctx context.Context, key string) (string, error)
}

// HeadGetter is an optional Store capability: the first n bytes of a
// value, in one command. /auth/verify reads only a record's head with it
// (a few hundred bytes: the identity, the lifetimes, the X-Auth-* values),
// and reads the whole record only when the check must write it (a refresh
// or an idle-timeout touch is due). A missing value is store.ErrNotFound.
type HeadGetter interface {
	GetHead(ctx context.Context, key string, n int) (string, error)
}

// The memory store offers every capability but StringGetter and
// HeadGetter, which it does not need: it keeps records as objects.
var (
	_ Store       = (*store.Memory)(nil)
	_ Locker      = (*store.Memory)(nil)
	_ Indexer     = (*store.Memory)(nil)
	_ ObjectStore = (*store.Memory)(nil)
)
