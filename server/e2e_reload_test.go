package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/metrics"
	"github.com/authflow/authflow/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReloadKeepsSessions: swapping in a new engine (a reloaded strategies
// file) keeps every session whose strategy still exists, and ends those
// whose strategy is gone at their next use.
func TestReloadKeepsSessions(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	dev, post := b.NewBrowser(), b.NewBrowser()
	dev.MustLogin("dev", authtest.Ada())
	post.MustLogin("devpost", authtest.Bob())

	if err := b.App().Server.SetEngine(b.NewEngine(t, authtest.DefaultStrategies, nil)); err != nil {
		t.Fatal(err)
	}
	for name, br := range map[string]*authtest.Browser{"dev": dev, "devpost": post} {
		if p := br.Verify(); p.Status != http.StatusOK {
			t.Errorf("%s session after reloading the same file: verify %d", name, p.Status)
		}
	}

	// The new file drops devpost.
	withoutPost := strings.Replace(authtest.DefaultStrategies, `"devpost": {`, `"devpost-renamed": {`, 1)
	withoutPost = strings.Replace(withoutPost, `"client_id": "post-app"`, `"client_id": "post-app", "redirect_path": "/auth/devpost/callback"`, 1)
	if err := b.App().Server.SetEngine(b.NewEngine(t, withoutPost, nil)); err != nil {
		t.Fatal(err)
	}
	if p := dev.Verify(); p.Status != http.StatusOK {
		t.Errorf("dev session after devpost was removed: verify %d", p.Status)
	}
	if p := post.Verify(); p.Status != http.StatusUnauthorized {
		t.Errorf("devpost session after its strategy was removed: verify %d, want 401", p.Status)
	}
	if p := dev.Get("/auth/devpost/login"); p.Status != http.StatusNotFound {
		t.Errorf("removed strategy's login: %d, want 404", p.Status)
	}
	// A new login with the renamed strategy works (its callback path kept).
	if p := b.NewBrowser().Login("devpost-renamed", authtest.Bob(), ""); p.Status != http.StatusFound || p.Location != b.URL+"/app/" {
		t.Errorf("login with the reloaded strategy: %d to %q: %s", p.Status, p.Location, p.Body)
	}
}

// TestMetricsObserveServer: the Prometheus metrics count logins by outcome,
// verifications, refreshes, step latencies and key-set fetches.
func TestMetricsObserveServer(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.Observer = m }})
	// The bench's engine has no hooks; swap in one that reports to m.
	eng := b.NewEngine(t, authtest.DefaultStrategies, func(o *engine.Options) { o.OnStep, o.OnKeysFetch = m.Step, m.KeysFetch })
	if err := b.App().Server.SetEngine(eng); err != nil {
		t.Fatal(err)
	}

	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	br.Verify()
	b.NewBrowser().Verify()                                // unauthenticated
	br.Get("/auth/dev/callback?code=x&state=never-issued") // state_mismatch
	b.Clock.Advance(10 * time.Minute)                      // past the access token's expiry
	if p := br.Verify(); p.Status != http.StatusOK {
		t.Fatalf("verify after expiry: %d", p.Status)
	}

	want := `
# HELP authflow_logins_total Finished logins by strategy and outcome (ok, or the failure kind: state_mismatch, access_denied, invalid_grant, invalid_client, invalid_token, unreachable, ...).
# TYPE authflow_logins_total counter
authflow_logins_total{outcome="ok",strategy="dev"} 1
authflow_logins_total{outcome="state_mismatch",strategy="dev"} 1
# HELP authflow_refreshes_total Access-token refreshes by strategy and outcome (ok; failed: refused, the session ended; unavailable: a transient failure, the session kept).
# TYPE authflow_refreshes_total counter
authflow_refreshes_total{outcome="ok",strategy="dev"} 1
# HELP authflow_verify_total Forward-auth /auth/verify answers by outcome (ok, unauthenticated, forbidden, error).
# TYPE authflow_verify_total counter
authflow_verify_total{outcome="ok"} 2
authflow_verify_total{outcome="unauthenticated"} 1
# HELP authflow_jwks_fetches_total Fetches of JSON Web Key Sets by outcome (ok, error).
# TYPE authflow_jwks_fetches_total counter
authflow_jwks_fetches_total{outcome="ok"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"authflow_logins_total", "authflow_refreshes_total", "authflow_verify_total", "authflow_jwks_fetches_total"); err != nil {
		t.Error(err)
	}
	// One observation per step run: token, jwt, userinfo at login; refresh.
	got := stepCounts(t, reg)
	for _, step := range []string{"token", "jwt", "userinfo", "refresh"} {
		if n := got["dev/"+step+"/ok"]; n != 1 {
			t.Errorf("step %s: %d latency observations, want 1 (all: %v)", step, n, got)
		}
	}
}

// stepCounts returns the number of observations of the step histogram
// per "strategy/step/outcome".
func stepCounts(t *testing.T, reg *prometheus.Registry) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "authflow_step_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out[l["strategy"]+"/"+l["step"]+"/"+l["outcome"]] = m.GetHistogram().GetSampleCount()
		}
	}
	return out
}
