package store

import "time"

// SetLockTTL shortens r's lock lifetime, so that tests of expiry and
// renewal run in milliseconds.
func SetLockTTL(r *Redis, d time.Duration) { r.lockTTL = d }
