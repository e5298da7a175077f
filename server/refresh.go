package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authflow/authflow/engine"
)

var (
	// errRefreshFailed: the IdP refused the refresh for good (invalid_grant
	// or another 4xx); the session has ended.
	errRefreshFailed = errors.New("refresh failed")
	// errRefreshUnavailable: the refresh could not be done just now (the IdP
	// unreachable or slow, a 5xx, a 429); the session stays, and a later
	// request tries again after a backoff.
	errRefreshUnavailable = errors.New("the identity provider could not refresh the session just now")
	// errCannotRefresh: a forced refresh of a session that has nothing to
	// refresh with (no refresh step, or the IdP gave no refresh token). The
	// session stays.
	errCannotRefresh = errors.New("this session cannot be refreshed: its strategy has no refresh step or the identity provider gave no refresh token")
)

// refreshTooSoonError: a forced refresh within Config.RefreshInterval of
// the session's last one, or during a backoff. The session stays.
type refreshTooSoonError struct{ retryAfter time.Duration }

func (e *refreshTooSoonError) Error() string {
	return fmt.Sprintf("this session was refreshed moments ago; try again in %s", e.retryAfter.Round(time.Second))
}

// Refresh backoff after transient failures: 5 s, doubling, at most 5 min.
const (
	refreshBackoffFirst = 5 * time.Second
	refreshBackoffMax   = 5 * time.Minute
)

// refreshIfDue runs the strategy's refresh step when the access token is
// due (Tokens.RefreshDue), or when forced, and returns the session as it
// then is. Refreshes of one session are at least RefreshInterval apart,
// forced ones included, and wait out a transient failure's backoff; until
// then the session is served as it is.
//
// However many requests of one session arrive together, in this process
// or on others sharing the Store, one refresh runs: singleflight joins this
// process's requests, and the Store's lock orders the processes; whoever
// gets the lock next reads the record again and finds it changed.
func (s *Server) refreshIfDue(ctx context.Context, st *engine.Strategy, rec *record, force bool) (*record, error) {
	now := s.cfg.Now()
	if !force && !rec.refreshDue(now, s.cfg.RefreshSkew) {
		return rec, nil
	}
	if !st.CanRefresh() || !rec.Refreshable {
		if force {
			return rec, errCannotRefresh
		}
		// Nothing to refresh with: the identity was verified at login and the
		// session lasts its lifetime; the expired access token is just stale.
		return rec, nil
	}
	if wait := s.refreshWait(rec, now); wait > 0 {
		if force {
			return rec, &refreshTooSoonError{wait}
		}
		return rec, nil
	}
	v, err, _ := s.flight.Do(rec.ID, func() (any, error) { return s.refresh(ctx, st, rec) })
	cur, _ := v.(*record)
	if errors.Is(err, errRefreshUnavailable) && !force {
		return cur, nil // served with the access token it has; retried later
	}
	return cur, err
}

// refreshWait is how long the session must wait for its next refresh: to
// RefreshInterval after the last one, or to the end of a backoff.
func (s *Server) refreshWait(rec *record, now time.Time) time.Duration {
	next := rec.Refreshed.Add(s.cfg.RefreshInterval)
	if rec.RetryAt.After(next) {
		next = rec.RetryAt
	}
	return next.Sub(now)
}

// refresh refreshes rec under the session's lock. Only a definitive
// refusal ends the session; a transient failure is recorded with its
// backoff. Every write is an updateRecord, so a session that ended while
// the IdP was answering stays ended.
func (s *Server) refresh(ctx context.Context, st *engine.Strategy, rec *record) (*record, error) {
	// Detached from the request, so that one client going away does not
	// fail the refresh the others wait for.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if s.locker != nil {
		unlock, err := s.locker.Lock(ctx, "refresh:"+rec.ID)
		if err != nil {
			return nil, fmt.Errorf("refresh lock: %w", err)
		}
		defer unlock()
	}
	cur, err := s.loadRecord(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	if !s.sameVersion(cur, rec) {
		return cur, nil // refreshed (or tried) meanwhile, here or on another instance
	}
	prev, err := cur.tokens()
	if err != nil {
		return nil, err
	}
	u, err := cur.user()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	start := time.Now()
	out, err := st.RefreshSession(ctx, prev, cur.Subject, u.Raw, u.Claims)
	if err != nil {
		if out != nil && refusedForGood(err) {
			// The identity failed: the new tokens belong to nobody.
			if rerr := st.Revoke(ctx, out.Tokens); rerr != nil {
				s.log.Warn("revoke failed", "strategy", cur.Strategy, "error", rerr.Error())
			}
		}
		next := *cur // the same identity and body
		next.Refreshed = now
		return s.refreshFailed(ctx, cur, &next, time.Since(start), err)
	}
	toks := out.Tokens
	next := cur.withTokens(toks)
	if out.User != nil {
		next.setBody(out.User, out.Claims, toks, true) // claims derived anew: a new identity view
	}
	if out.UserinfoErr != nil {
		s.log.Warn("refresh: userinfo failed; claims kept", "strategy", cur.Strategy, "error", out.UserinfoErr.Error())
	}
	if out.SessionID != "" {
		next.IdPSID = out.SessionID
	}
	next.Refreshed, next.Failures, next.RetryAt = now, 0, time.Time{}
	if err := s.updateRecord(ctx, cur, next); err != nil {
		if errors.Is(err, errNoSession) {
			// The session ended while the IdP answered: the new tokens belong
			// to nobody.
			if rerr := st.Revoke(ctx, toks); rerr != nil {
				s.log.Warn("revoke failed", "strategy", cur.Strategy, "error", rerr.Error())
			}
		}
		return nil, err
	}
	if next.IdPSID != cur.IdPSID {
		if err := s.reindexSID(ctx, next); err != nil {
			s.log.Warn("refresh: indexing the new sid failed", "strategy", cur.Strategy, "error", err.Error())
		}
	}
	s.cfg.Observer.Refresh(cur.Strategy, OutcomeOK)
	s.log.Info("refreshed", "strategy", cur.Strategy, "outcome", "ok", "latency", time.Since(start))
	return next, nil
}

// refreshFailed handles a failed refresh step: a definitive refusal ends
// the session; anything else keeps it, with a backoff before the next try
// recorded in next, the record to swap in for cur.
func (s *Server) refreshFailed(ctx context.Context, cur, next *record, latency time.Duration, cause error) (*record, error) {
	if refusedForGood(cause) {
		s.dropRecord(ctx, cur)
		s.announce(eventRefreshFailed, cur)
		s.cfg.Observer.Refresh(cur.Strategy, OutcomeFailed)
		s.log.Warn("refresh failed; session ended", "strategy", cur.Strategy, "outcome", "refresh_failed",
			"latency", latency, "error", cause.Error())
		return nil, fmt.Errorf("%w: %w", errRefreshFailed, cause)
	}
	next.Failures++
	backoff := refreshBackoffMax
	if next.Failures < 8 {
		backoff = min(refreshBackoffFirst<<(next.Failures-1), refreshBackoffMax)
	}
	next.RetryAt = next.Refreshed.Add(backoff)
	s.cfg.Observer.Refresh(cur.Strategy, OutcomeUnavailable)
	s.log.Warn("refresh failed; session kept, will retry", "strategy", cur.Strategy, "outcome", "refresh_unavailable",
		"latency", latency, "failures", next.Failures, "retry_in", backoff, "error", cause.Error())
	if err := s.updateRecord(ctx, cur, next); err != nil {
		return nil, err
	}
	return next, fmt.Errorf("%w: %w", errRefreshUnavailable, cause)
}

// refusedForGood reports whether a refresh failure is the IdP's definitive
// refusal — an OAuth error answer, or a 4xx other than 429 — or an identity
// that no longer holds (the answer's ID token fails verification, or names
// another user), rather than a transient failure (network, timeout, 5xx,
// 429, a malformed answer).
func refusedForGood(err error) bool {
	if errors.Is(err, engine.ErrInvalidToken) || errors.Is(err, engine.ErrSubjectChanged) || errors.Is(err, engine.ErrSubjectMismatch) {
		return true
	}
	var pe *engine.ProviderError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.StatusCode != http.StatusTooManyRequests && pe.StatusCode < 500
}
