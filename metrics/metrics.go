// Package metrics exports authflow's Prometheus metrics: logins by strategy
// and outcome, step latency by strategy and step, refreshes, forward-auth
// verifications, key-set fetches and strategy-file reloads.
//
// A Metrics is a server.Observer, and its Step and KeysFetch methods fit
// engine.Options.OnStep and OnKeysFetch:
//
//	reg := prometheus.NewRegistry()
//	m := metrics.New(reg)
//	eng, _ := engine.New(set, engine.Options{OnStep: m.Step, OnKeysFetch: m.KeysFetch})
//	srv, _ := server.New(eng, server.Config{BaseURI: base, Observer: m})
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Labels hold only strategy and step names and fixed outcome words, never a
// user, token or URL, so their number stays bounded by the strategy file.
package metrics

import (
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the collectors. Its methods are safe for concurrent use.
type Metrics struct {
	logins    *prometheus.CounterVec
	steps     *prometheus.HistogramVec
	refreshes *prometheus.CounterVec
	verifies  *prometheus.CounterVec
	verifyOK  prometheus.Counter // verifies' "ok" child, resolved once: Verify is on the hot path
	keys      *prometheus.CounterVec
	reloads   *prometheus.CounterVec
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "authflow", Name: "logins_total",
			Help: "Finished logins by strategy and outcome (ok, or the failure kind: state_mismatch, access_denied, invalid_grant, invalid_client, invalid_token, unreachable, ...).",
		}, []string{"strategy", "outcome"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "authflow", Name: "step_duration_seconds",
			Help:    "Duration of each strategy step run (token, jwt, userinfo, refresh, revoke, ...), by outcome (ok, error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"strategy", "step", "outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "authflow", Name: "refreshes_total",
			Help: "Access-token refreshes by strategy and outcome (ok; failed: refused, the session ended; unavailable: a transient failure, the session kept).",
		}, []string{"strategy", "outcome"}),
		verifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "authflow", Name: "verify_total",
			Help: "Forward-auth /auth/verify answers by outcome (ok, unauthenticated, forbidden, error).",
		}, []string{"outcome"}),
		keys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "authflow", Name: "jwks_fetches_total",
			Help: "Fetches of JSON Web Key Sets by outcome (ok, error).",
		}, []string{"outcome"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "authflow", Name: "reloads_total",
			Help: "Strategy-file reloads by outcome (ok, error; on error the previous strategies stay).",
		}, []string{"outcome"}),
	}
	m.verifyOK = m.verifies.WithLabelValues(string(server.OutcomeOK))
	reg.MustRegister(m.logins, m.steps, m.refreshes, m.verifies, m.keys, m.reloads)
	return m
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Login counts a finished login (server.Observer).
func (m *Metrics) Login(strategy string, outcome server.Outcome) {
	m.logins.WithLabelValues(strategy, string(outcome)).Inc()
}

// Refresh counts a refresh (server.Observer).
func (m *Metrics) Refresh(strategy string, outcome server.Outcome) {
	m.refreshes.WithLabelValues(strategy, string(outcome)).Inc()
}

// Verify counts an /auth/verify answer (server.Observer).
func (m *Metrics) Verify(outcome server.Outcome) {
	if outcome == server.OutcomeOK { // every signed-in check: no label lookup
		m.verifyOK.Inc()
		return
	}
	m.verifies.WithLabelValues(string(outcome)).Inc()
}

// Step records a step's duration (engine.Options.OnStep).
func (m *Metrics) Step(e engine.StepEvent) {
	m.steps.WithLabelValues(e.Strategy, e.Step, outcome(e.Err)).Observe(e.Duration.Seconds())
}

// KeysFetch counts a key-set fetch (engine.Options.OnKeysFetch).
func (m *Metrics) KeysFetch(_ string, err error) { m.keys.WithLabelValues(outcome(err)).Inc() }

// Reload counts a strategy-file reload.
func (m *Metrics) Reload(err error) { m.reloads.WithLabelValues(outcome(err)).Inc() }
