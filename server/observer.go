package server

// Observer receives the server's events, for metrics (package metrics has
// a Prometheus implementation). Its methods must be safe for concurrent use
// and must not block.
type Observer interface {
	// Login reports a finished login: OutcomeOK, or the failure's kind as
	// the error page's log entry names it (state_mismatch, access_denied,
	// invalid_grant, invalid_client, invalid_token, unreachable, ...).
	Login(strategy string, outcome Outcome)
	// Refresh reports a refresh step run: OutcomeOK, OutcomeFailed (the
	// IdP refused; the session ended) or OutcomeUnavailable (a transient
	// failure; the session stays).
	Refresh(strategy string, outcome Outcome)
	// Verify reports an /auth/verify answer: OutcomeOK,
	// OutcomeUnauthenticated, OutcomeForbidden or OutcomeError.
	Verify(outcome Outcome)
}

// Outcome is how a login, refresh or check ended, as logs and metrics
// name it.
type Outcome string

// The outcomes; a failed login's outcome is its failure's kind instead
// (Outcome("state_mismatch"), ...).
const (
	OutcomeOK              Outcome = "ok"
	OutcomeFailed          Outcome = "failed"
	OutcomeUnavailable     Outcome = "unavailable"
	OutcomeUnauthenticated Outcome = "unauthenticated"
	OutcomeForbidden       Outcome = "forbidden"
	OutcomeError           Outcome = "error"
)

// nopObserver is the default Observer.
type nopObserver struct{}

func (nopObserver) Login(string, Outcome)   {}
func (nopObserver) Refresh(string, Outcome) {}
func (nopObserver) Verify(Outcome)          {}
