package store

import (
	"context"
	"errors"
	"time"

	"github.com/alexedwards/scs/v2"
)

// ErrNotFound: the key does not exist or has expired.
var ErrNotFound = errors.New("store: not found")

// Store is a small key-value store with expiry, single-use reads and locks.
// Implementations are safe for concurrent use.
type Store interface {
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns the value of key and deletes it in one atomic step, so
	// that of two concurrent Takes only one gets the value; the other gets
	// ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// SetNew stores value under key for ttl only if key does not exist, and
	// reports whether it did: of two concurrent SetNews of one key, one
	// wins. For things accepted once (a logout token's jti).
	SetNew(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// CompareAndSwap stores value under key for ttl only if key holds old,
	// and reports whether it did. A missing key is never swapped, so a
	// record once deleted stays deleted whatever writer still holds a copy.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
	// AddMember adds member to the set named key, as a member until until.
	// Members whose until has passed by now are dropped, and the set lives
	// as long as its longest-lived member. Sets index sessions by IdP
	// session and user, so a member lives as long as its session.
	AddMember(ctx context.Context, key, member string, now, until time.Time) error
	// Members returns the members of the set named key that are still
	// members at now; none when it does not exist.
	Members(ctx context.Context, key string, now time.Time) ([]string, error)
	// RemoveMember removes member from the set named key.
	RemoveMember(ctx context.Context, key, member string) error
	// Lock waits until it holds the lock named key, or ctx ends. The lock is
	// released by calling unlock; while its holder lives it is kept, and if
	// the holder dies without releasing it, it is free within LockTTL.
	Lock(ctx context.Context, key string) (unlock func(), err error)
	// Sessions returns the scs store for browser sessions, sharing this
	// store's backend.
	Sessions() scs.Store
	// Close releases the store's resources.
	Close() error
}

// LockTTL is how long a lock outlives a holder that died without releasing
// it.
const LockTTL = 5 * time.Second
