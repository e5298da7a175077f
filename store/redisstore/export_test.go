package redisstore

import "time"

// SetLockTTL shortens s's lock lifetime, so that tests of expiry and
// renewal run in milliseconds.
func SetLockTTL(s *Store, d time.Duration) { s.lockTTL = d }
