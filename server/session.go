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
//
// An ended session stays ended: a record is created once (SetNew, under an
// id never used before) and every later write is a compare-and-swap over
// the bytes its writer read (updateRecord). Ending a session deletes the
// record, so a writer that was in flight at that moment — a refresh that
// started before a back-channel logout landed, a request racing the
// sign-out — finds nothing to swap, and nothing can write the session
// back.
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
	// Refreshed is when the last refresh was tried: refreshes of one
	// session are at least Config.RefreshInterval apart.
	Refreshed time.Time `json:"refreshed,omitzero"`
	// RetryAt, after a transient refresh failure, is when the next try may
	// be made; Failures counts such failures in a row.
	RetryAt  time.Time `json:"retry_at,omitzero"`
	Failures int       `json:"failures,omitempty"`

	raw []byte // the stored bytes this copy was read from or written as
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
	rec := &record{raw: b}
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

// encodeRecord returns rec's bytes and what remains of its lifetime.
func (s *Server) encodeRecord(rec *record) ([]byte, time.Duration, error) {
	ttl := rec.Expires.Sub(s.cfg.Now())
	if ttl <= 0 {
		return nil, 0, errNoSession
	}
	b, err := json.Marshal(rec)
	return b, ttl, err
}

// createRecord stores a new session's record; its id must be new.
func (s *Server) createRecord(ctx context.Context, rec *record) error {
	b, ttl, err := s.encodeRecord(rec)
	if err != nil {
		return err
	}
	ok, err := s.cfg.Store.SetNew(ctx, recordKey(rec.ID), b, ttl)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("session record: id already in use")
	}
	rec.raw = b
	return nil
}

// updateRecord writes rec over the record it was read as, and fails with
// errNoSession when the session has ended meanwhile (or the record was
// rewritten since it was read: the caller reads it again).
func (s *Server) updateRecord(ctx context.Context, rec *record) error {
	b, ttl, err := s.encodeRecord(rec)
	if err != nil {
		return err
	}
	ok, err := s.cfg.Store.CompareAndSwap(ctx, recordKey(rec.ID), rec.raw, b, ttl)
	if err != nil {
		return err
	}
	if !ok {
		return errNoSession
	}
	rec.raw = b
	return nil
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
	if err := s.createRecord(ctx, rec); err != nil {
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
