package authtest

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, and fails the test when it does
// not within 10 seconds; what names the condition in the failure. Use it
// for work that ends on its own time (a file watcher, a process starting),
// never to let a clock run: advance a Clock instead.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		<-tick.C
	}
}
