package store

import (
	"errors"
	"time"
)

// ErrNotFound: the key does not exist or has expired.
var ErrNotFound = errors.New("store: not found")

// LockTTL is how long a lock outlives a holder that died without releasing
// it.
const LockTTL = 5 * time.Second
