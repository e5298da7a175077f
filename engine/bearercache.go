package engine

import (
	"sync"
	"time"
)

// bearerCache keeps verified bearer tokens (and refusals of the
// introspection endpoint) by the SHA-256 of the token, until an expiry,
// about max of them at most. The token itself is never kept.
type bearerCache struct {
	mu  sync.RWMutex
	m   map[[32]byte]*bearerEntry
	max int
}

type bearerEntry struct {
	tok   *BearerToken
	err   error
	until time.Time
}

// get returns the entry of sum while it lasts at now.
func (c *bearerCache) get(sum [32]byte, now time.Time) (*BearerToken, error, bool) {
	c.mu.RLock()
	e := c.m[sum]
	c.mu.RUnlock()
	if e == nil || !now.Before(e.until) {
		return nil, nil, false
	}
	return e.tok, e.err, true
}

// put keeps tok (or err) for sum until until. Past max it first drops the
// entries that have ended, then, if that was not enough, others (map
// order) down to seven eighths of max.
func (c *bearerCache) put(sum [32]byte, tok *BearerToken, err error, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]*bearerEntry{}
	}
	if _, ok := c.m[sum]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max-c.max/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[sum] = &bearerEntry{tok: tok, err: err, until: until}
}
