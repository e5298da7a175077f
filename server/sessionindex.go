package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/authflow/authflow/engine"
)

// Session index keys: the sets of session record ids by IdP session (the
// ID token's sid) and by user, per strategy. Values from the IdP are hashed
// so that keys stay short and plain.
func sidIndexKey(strategy, sid string) string { return "idx:sid:" + strategy + ":" + hashKey(sid) }
func subIndexKey(strategy, sub string) string { return "idx:sub:" + strategy + ":" + hashKey(sub) }
func jtiKey(strategy, jti string) string      { return "bcl-jti:" + strategy + ":" + hashKey(jti) }

func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// indexSession records a new session under its IdP session and user, so
// that a back-channel logout received by any instance finds it.
func (s *Server) indexSession(ctx context.Context, rec *record) error {
	if s.index == nil {
		return nil
	}
	now := s.cfg.Now()
	if rec.IdPSID != "" {
		if err := s.index.AddMember(ctx, sidIndexKey(rec.Strategy, rec.IdPSID), rec.ID, now, rec.Expires); err != nil {
			return err
		}
	}
	if rec.Subject != "" {
		return s.index.AddMember(ctx, subIndexKey(rec.Strategy, rec.Subject), rec.ID, now, rec.Expires)
	}
	return nil
}

// reindexSID adds a refreshed session to the index of rec.IdPSID, the sid
// of the refresh answer's ID token, so that a back-channel logout naming
// the IdP's current session finds it. It stays under its earlier sid too:
// a logout token naming that one still ends it.
func (s *Server) reindexSID(ctx context.Context, rec *record) error {
	if s.index == nil || rec.IdPSID == "" {
		return nil
	}
	return s.index.AddMember(ctx, sidIndexKey(rec.Strategy, rec.IdPSID), rec.ID, s.cfg.Now(), rec.Expires)
}

// unindexSession removes an ended session from the indexes (best effort: a
// stale member names a record that no longer exists, which is harmless).
func (s *Server) unindexSession(ctx context.Context, rec *record) {
	if s.index == nil {
		return
	}
	if rec.IdPSID != "" {
		s.index.RemoveMember(ctx, sidIndexKey(rec.Strategy, rec.IdPSID), rec.ID)
	}
	if rec.Subject != "" {
		s.index.RemoveMember(ctx, subIndexKey(rec.Strategy, rec.Subject), rec.ID)
	}
}

// endSessionsOf deletes the session records a logout token names and
// returns how many it ended.
func (s *Server) endSessionsOf(ctx context.Context, strategy string, lt *engine.LogoutToken) (int, error) {
	key := subIndexKey(strategy, lt.Subject)
	if lt.SessionID != "" {
		key = sidIndexKey(strategy, lt.SessionID)
	}
	ids, err := s.index.Members(ctx, key, s.cfg.Now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		rec, err := s.loadRecord(ctx, id)
		if errors.Is(err, errNoSession) {
			s.index.RemoveMember(ctx, key, id)
			continue
		}
		if err != nil {
			return n, err
		}
		if rec.Strategy != strategy || (lt.Subject != "" && rec.Subject != lt.Subject) {
			continue // a sid with another user's sub: not this token's session
		}
		if err := s.cfg.Store.Delete(ctx, recordKey(id)); err != nil {
			return n, err
		}
		s.unindexSession(ctx, rec)
		s.announce(eventBackchannelLogout, rec)
		n++
	}
	return n, nil
}
