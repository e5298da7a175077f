package engine_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/authflow/authflow/engine"
)

// stepLog collects Options.OnStep events.
type stepLog struct {
	mu     sync.Mutex
	events []engine.StepEvent
}

// record is the OnStep hook.
func (l *stepLog) record(ev engine.StepEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// take returns the events so far as "strategy/step:ok|err" and forgets them.
func (l *stepLog) take() (string, []engine.StepEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, ev := range l.events {
		outcome := "ok"
		if ev.Err != nil {
			outcome = "err"
		}
		parts = append(parts, ev.Strategy+"/"+ev.Step+":"+outcome)
	}
	evs := l.events
	l.events = nil
	return strings.Join(parts, " "), evs
}

// TestOnStep: every step run is reported once, in order, with its outcome;
// the callback checks that run before any step are not.
func TestOnStep(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	var log stepLog
	s := p.strategy(t, oidcFile(authPost), func(o *engine.Options) { o.OnStep = log.record })

	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatal(err)
	}
	if got, evs := log.take(); got != "acme/token:ok acme/jwt:ok acme/userinfo:ok" {
		t.Errorf("login events %q", got)
	} else {
		for _, ev := range evs {
			if ev.Duration < 0 {
				t.Errorf("event %+v has a negative duration", ev)
			}
		}
	}

	tok, err := s.Refresh(t.Context(), res.Tokens)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if got, _ := log.take(); got != "acme/refresh:ok acme/revoke:ok" {
		t.Errorf("session events %q", got)
	}

	// A failing step is reported with its error; nothing after it runs.
	p.update(func(c *idpConfig) { c.userinfoSub = "someone-else" })
	l, cb = p.begin(t, s)
	if _, err := s.Exchange(t.Context(), l, cb); !errors.Is(err, engine.ErrSubjectMismatch) {
		t.Fatalf("err = %v", err)
	}
	// The userinfo call itself succeeded, but the step failed (its answer
	// names another user): the event must say so, as the StepError does.
	if got, evs := log.take(); got != "acme/token:ok acme/jwt:ok acme/userinfo:err" {
		t.Errorf("failed login events %q, want the userinfo step reported as failed", got)
	} else if !errors.Is(evs[2].Err, engine.ErrSubjectMismatch) {
		t.Errorf("userinfo event error %v, want ErrSubjectMismatch", evs[2].Err)
	}

	// A bad state fails before any step: no events.
	l, cb = p.begin(t, s)
	cb.Set("state", "forged")
	if _, err := s.Exchange(t.Context(), l, cb); !errors.Is(err, engine.ErrStateMismatch) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := log.take(); got != "" {
		t.Errorf("events for a refused callback: %q", got)
	}
}
