package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
	"github.com/tidwall/gjson"
)

// sessionKey is the one value the scs session holds: the id of the
// session's record in the Store.
const sessionKey = "authflow.sid"

// record is a session's server-side state. Its key in the Store is
// "record:" + ID; the record's existence is what keeps the session alive.
type record struct {
	ID       string          `json:"id"`
	Strategy string          `json:"strategy"`
	Subject  string          `json:"sub"`
	User     json.RawMessage `json:"user"`
	Claims   map[string]any  `json:"claims,omitempty"`
	Tokens   engine.Tokens   `json:"tokens"`
	IdPSID   string          `json:"idp_sid,omitempty"` // the ID token's sid, for back-channel logout
	Created  time.Time       `json:"created"`
	Expires  time.Time       `json:"expires"`
}

// errNoSession: the request has no live session.
var errNoSession = errors.New("no session")

func recordKey(id string) string { return "record:" + id }

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) loadRecord(ctx context.Context, id string) (*record, error) {
	b, err := s.cfg.Store.Get(ctx, recordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	rec := &record{}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("session record: %w", err)
	}
	// The store expires records on its own clock; the session's lifetime is
	// on the server's, checked here before anything (a refresh) uses it.
	if !s.cfg.Now().Before(rec.Expires) {
		s.dropRecord(ctx, rec)
		return nil, errNoSession
	}
	return rec, nil
}

// dropRecord ends a session on every instance: its record deleted and
// its entries in the back-channel indexes removed.
func (s *Server) dropRecord(ctx context.Context, rec *record) {
	s.cfg.Store.Delete(ctx, recordKey(rec.ID))
	s.unindexSession(ctx, rec)
}

// dropSession drops the record of id, if it still exists, and returns it.
func (s *Server) dropSession(ctx context.Context, id string) *record {
	rec, err := s.loadRecord(ctx, id)
	if err != nil {
		s.cfg.Store.Delete(ctx, recordKey(id))
		return nil
	}
	s.dropRecord(ctx, rec)
	return rec
}

func (s *Server) saveRecord(ctx context.Context, rec *record) error {
	ttl := rec.Expires.Sub(s.cfg.Now())
	if ttl <= 0 {
		return errNoSession
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.cfg.Store.Set(ctx, recordKey(rec.ID), b, ttl)
}

// startSession makes a new session for a finished login: a fresh session
// cookie token (no fixation), a new record, and the old session's record
// deleted.
func (s *Server) startSession(ctx context.Context, res *engine.Result) (*record, error) {
	if old := s.sessions.GetString(ctx, sessionKey); old != "" {
		s.dropSession(ctx, old)
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		return nil, fmt.Errorf("renewing the session token: %w", err)
	}
	now := s.cfg.Now()
	rec := &record{
		ID:       newID(),
		Strategy: res.Strategy,
		Subject:  res.Subject(),
		User:     res.User,
		Claims:   res.Claims,
		Tokens:   res.Tokens,
		IdPSID:   gjson.GetBytes(res.User, "sid").String(),
		Created:  now,
		Expires:  now.Add(s.cfg.SessionLifetime),
	}
	if err := s.saveRecord(ctx, rec); err != nil {
		return nil, err
	}
	if err := s.indexSession(ctx, rec); err != nil {
		return nil, err
	}
	s.sessions.Put(ctx, sessionKey, rec.ID)
	return rec, nil
}

// current returns the request's live session, refreshing its access token
// when due (force: whatever its expiry). A session whose record is gone, or
// whose refresh failed, is ended: its cookie session destroyed.
func (s *Server) current(ctx context.Context, force bool) (*record, error) {
	id := s.sessions.GetString(ctx, sessionKey)
	if id == "" {
		return nil, errNoSession
	}
	rec, err := s.loadRecord(ctx, id)
	if err == nil {
		if st := s.Engine().Strategy(rec.Strategy); st == nil {
			// A reload removed the session's strategy: its identity can no
			// longer be refreshed, revoked or trusted by a new configuration.
			s.dropRecord(ctx, rec)
			rec, err = nil, errNoSession
		} else {
			rec, err = s.refreshIfDue(ctx, st, rec, force)
		}
	}
	if sessionEnded(err) {
		s.sessions.Destroy(ctx)
	}
	return rec, err
}

// errRefreshFailed: the refresh step failed; the session has ended.
var errRefreshFailed = errors.New("refresh failed")

// errCannotRefresh: a forced refresh of a session that has nothing to
// refresh with (no refresh step, or the IdP gave no refresh token). The
// session stays.
var errCannotRefresh = errors.New("this session cannot be refreshed: its strategy has no refresh step or the identity provider gave no refresh token")

// refreshIfDue runs the strategy's refresh step when the access token has
// expired (within RefreshSkew), or when forced. However many requests of
// one session arrive together, in this process or on others sharing the
// Store, one refresh runs: singleflight joins this process's requests, and
// the Store's lock orders the processes; whoever gets the lock next reads
// the record again and finds it already refreshed.
func (s *Server) refreshIfDue(ctx context.Context, st *engine.Strategy, rec *record, force bool) (*record, error) {
	if !force && !rec.Tokens.Expired(s.cfg.Now(), s.cfg.RefreshSkew) {
		return rec, nil
	}
	if !st.CanRefresh() || rec.Tokens.RefreshToken == "" {
		if force {
			return rec, errCannotRefresh
		}
		// Nothing to refresh with: the identity was verified at login and the
		// session lasts its lifetime; the expired access token is just stale.
		return rec, nil
	}
	seen := rec.Tokens.AccessToken
	v, err, _ := s.flight.Do(rec.ID, func() (any, error) {
		// Detached from the request, so that one client going away does not
		// fail the refresh the others wait for.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		unlock, err := s.cfg.Store.Lock(fctx, "refresh:"+rec.ID, 30*time.Second)
		if err != nil {
			return nil, fmt.Errorf("refresh lock: %w", err)
		}
		defer unlock()
		cur, err := s.loadRecord(fctx, rec.ID)
		if err != nil {
			return nil, err
		}
		if cur.Tokens.AccessToken != seen {
			return cur, nil // refreshed meanwhile, here or on another instance
		}
		start := time.Now()
		toks, err := st.Refresh(fctx, cur.Tokens)
		if err != nil {
			s.dropRecord(fctx, cur)
			s.cfg.Observer.Refresh(cur.Strategy, "failed")
			s.log.Warn("refresh failed; session ended", "strategy", cur.Strategy, "outcome", "refresh_failed",
				"latency", time.Since(start), "error", err.Error())
			return nil, fmt.Errorf("%w: %w", errRefreshFailed, err)
		}
		cur.Tokens = toks
		if err := s.saveRecord(fctx, cur); err != nil {
			return nil, err
		}
		s.cfg.Observer.Refresh(cur.Strategy, "ok")
		s.log.Info("refreshed", "strategy", cur.Strategy, "outcome", "ok", "latency", time.Since(start))
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*record), nil
}

// endSession ends the request's session: record deleted, cookie session
// destroyed. It returns the record that was live, or nil.
func (s *Server) endSession(ctx context.Context) *record {
	var rec *record
	if id := s.sessions.GetString(ctx, sessionKey); id != "" {
		rec = s.dropSession(ctx, id)
	}
	s.sessions.Destroy(ctx)
	return rec
}
