package server

// Observer receives the server's events, for metrics (package metrics has
// a Prometheus implementation). Its methods must be safe for concurrent use
// and must not block.
type Observer interface {
	// Login reports a finished login: outcome "ok", or the failure's kind
	// as the error page's log entry names it (state_mismatch,
	// access_denied, invalid_grant, invalid_client, invalid_token,
	// unreachable, ...).
	Login(strategy, outcome string)
	// Refresh reports a refresh step run: outcome "ok" or "failed".
	Refresh(strategy, outcome string)
	// Verify reports an /auth/verify answer: "ok", "unauthenticated",
	// "forbidden" or "error".
	Verify(outcome string)
}

// nopObserver is the default Observer.
type nopObserver struct{}

func (nopObserver) Login(string, string)   {}
func (nopObserver) Refresh(string, string) {}
func (nopObserver) Verify(string)          {}
