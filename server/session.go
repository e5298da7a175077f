package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
	"github.com/tidwall/gjson"
)

// A session is a record in the Store under its id, "session:" + the
// SHA-256 of the session cookie's 32 random bytes: the cookie is
// the only place the secret exists, so a read of the Store yields no live
// cookie. One request reads the record once (one Redis GET; with the
// memory store, a map lookup and no decode).
//
// An ended session stays ended: a record is created once (SetNew, under an
// id never used before) and every later write is a compare-and-swap over
// the version its writer read (updateRecord). Ending a session deletes the
// record, so a writer that was in flight at that moment — a refresh that
// started before a back-channel logout landed, a request racing the
// sign-out — finds nothing to swap, and nothing can write the session
// back.
//
// The session's lifetime and idle timeout live in the record and are
// checked on Config.Now at every read; the Store's expiry is only a
// backstop that frees the space.

// errNoSession: the request has no live session.
var errNoSession = errors.New("no session")

// sessionCookieValueLen is the length of a session cookie's value: 32
// random bytes, base64url without padding.
const sessionCookieValueLen = 43

// recordKey is the Store key of the record with id: the id itself, which
// starts with sessionKeyPrefix.
func recordKey(id string) string { return id }

const sessionKeyPrefix = "session:"

// newID returns 32 random bytes, base64url-encoded.
func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionID is the record id of a session cookie's value:
// "session:" + base64url(SHA-256(value)), made with one allocation.
func sessionID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	var buf [len(sessionKeyPrefix) + 43]byte
	copy(buf[:], sessionKeyPrefix)
	base64.RawURLEncoding.Encode(buf[len(sessionKeyPrefix):], sum[:])
	return string(buf[:])
}

// sessionCookie returns the request's session cookie value, or "". It
// scans the Cookie headers for that one name (http.Request.Cookie parses
// and allocates every cookie: this is the hot path of /auth/verify).
func (s *Server) sessionCookie(r *http.Request) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && name == s.sessionCookieName {
				if len(value) != sessionCookieValueLen || strings.ContainsFunc(value, notBase64URL) {
					return ""
				}
				return value
			}
		}
	}
	return ""
}

func notBase64URL(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}

// setSessionCookie sends the session cookie; an empty value clears it.
func (s *Server) setSessionCookie(w http.ResponseWriter, value string, expires time.Time) {
	c := &http.Cookie{Name: s.sessionCookieName, Value: value, Path: "/",
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = max(int(expires.Sub(s.cfg.Now())/time.Second), 1)
	}
	http.SetCookie(w, c)
}

// loadRecord returns the live record of id, or errNoSession.
func (s *Server) loadRecord(ctx context.Context, id string) (*record, error) {
	rec, err := s.readRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.alive(ctx, rec)
}

// headBytes is how much of a record loadHead reads: a head is 300 to 600
// bytes; a longer one (many groups) is read with the whole record.
const headBytes = 1024

// loadHead is loadRecord for a check that writes nothing: with a
// HeadGetter it reads the record's head alone, in one command (a record
// without body or stored form, see decodeHeadOnly), unless the head does
// not fit in headBytes.
func (s *Server) loadHead(ctx context.Context, id string) (*record, error) {
	if s.headGetter == nil {
		return s.loadRecord(ctx, id)
	}
	v, err := s.headGetter.GetHead(ctx, recordKey(id), headBytes)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	var rec *record
	switch nl := strings.IndexByte(v, '\n'); {
	case nl >= 0:
		rec, err = decodeHeadOnly(v[:nl])
	case len(v) < headBytes: // the whole value: a record of the earlier format
		rec, err = decodeRecord(v)
	default:
		return s.loadRecord(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return s.alive(ctx, rec)
}

// alive returns rec if its session is live at Config.Now; else it ends
// the session and returns errNoSession.
func (s *Server) alive(ctx context.Context, rec *record) (*record, error) {
	now := s.cfg.Now()
	if !now.Before(rec.Expires) || (s.cfg.IdleTimeout > 0 && now.Sub(rec.LastSeen) >= s.cfg.IdleTimeout) {
		s.dropRecord(ctx, rec)
		return nil, errNoSession
	}
	return rec, nil
}

// readRecord reads the record of id as stored: shared with the memory
// store (never to be mutated), or decoded from the bytes of another (its
// head only: the body waits until something needs it).
func (s *Server) readRecord(ctx context.Context, id string) (*record, error) {
	if s.objects != nil {
		v, err := s.objects.GetObject(ctx, recordKey(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNoSession
		}
		if err != nil {
			return nil, err
		}
		rec, ok := v.(*record)
		if !ok {
			return nil, fmt.Errorf("session record: a %T in the store", v)
		}
		return rec, nil
	}
	var raw string
	var err error
	if s.stringGetter != nil {
		raw, err = s.stringGetter.GetString(ctx, recordKey(id))
	} else {
		var b []byte
		b, err = s.cfg.Store.Get(ctx, recordKey(id))
		raw = string(b)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	return decodeRecord(raw)
}

// sameVersion reports whether a and b are the same stored version of a
// record.
func (s *Server) sameVersion(a, b *record) bool {
	if s.objects != nil {
		return a == b
	}
	return a.raw == b.raw
}

// dropRecord ends a session on every instance: its record deleted and
// its entries in the back-channel indexes removed.
func (s *Server) dropRecord(ctx context.Context, rec *record) {
	s.cfg.Store.Delete(ctx, recordKey(rec.ID))
	s.unindexSession(ctx, rec)
}

// dropSession drops the record of id, if it still exists, and returns it.
func (s *Server) dropSession(ctx context.Context, id string) *record {
	rec, err := s.readRecord(ctx, id)
	if err != nil {
		s.cfg.Store.Delete(ctx, recordKey(id))
		return nil
	}
	s.dropRecord(ctx, rec)
	return rec
}

// ttl is what remains of rec's lifetime: the Store's backstop expiry.
func (s *Server) ttl(rec *record) (time.Duration, error) {
	ttl := rec.Expires.Sub(s.cfg.Now())
	if ttl <= 0 {
		return 0, errNoSession
	}
	return ttl, nil
}

// createRecord stores a new session's record; its id must be new.
func (s *Server) createRecord(ctx context.Context, rec *record) error {
	ttl, err := s.ttl(rec)
	if err != nil {
		return err
	}
	var ok bool
	if s.objects != nil {
		ok, err = s.objects.SetNewObject(ctx, recordKey(rec.ID), rec, ttl)
	} else {
		var b []byte
		if b, err = encodeRecord(rec); err != nil {
			return err
		}
		rec.raw = string(b)
		ok, err = s.cfg.Store.SetNew(ctx, recordKey(rec.ID), b, ttl)
	}
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("session record: id already in use")
	}
	return nil
}

// updateRecord swaps next in for old, the version it was made from, and
// fails with errNoSession when the session has ended meanwhile (or the
// record was rewritten since old was read: the caller reads it again).
// next must be a new record, not old changed in place.
func (s *Server) updateRecord(ctx context.Context, old, next *record) error {
	ttl, err := s.ttl(next)
	if err != nil {
		return err
	}
	var ok bool
	if s.objects != nil {
		ok, err = s.objects.SwapObject(ctx, recordKey(old.ID), old, next, ttl)
	} else {
		var b []byte
		if b, err = encodeRecord(next); err != nil {
			return err
		}
		next.raw = string(b)
		ok, err = s.cfg.Store.CompareAndSwap(ctx, recordKey(old.ID), []byte(old.raw), b, ttl)
	}
	if err != nil {
		return err
	}
	if !ok {
		return errNoSession
	}
	return nil
}

// startSession makes a new session for a finished login: a new cookie (no
// fixation), a new record, and the browser's old session ended.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, res *engine.Result) (*record, error) {
	if old := s.sessionCookie(r); old != "" {
		s.dropSession(ctx, sessionID(old))
	}
	cookie := newID()
	now := s.cfg.Now()
	rec := &record{
		ID:       sessionID(cookie),
		Strategy: res.Strategy,
		Subject:  res.Subject(),
		IdPSID:   gjson.GetBytes(res.User, "sid").String(),
		Created:  now,
		Expires:  now.Add(s.cfg.SessionLifetime),
		LastSeen: now,
	}
	rec.setBody(res.User, res.Claims, res.Tokens, true)
	if err := s.createRecord(ctx, rec); err != nil {
		return nil, err
	}
	if err := s.indexSession(ctx, rec); err != nil {
		return nil, err
	}
	s.setSessionCookie(w, cookie, rec.Expires)
	return rec, nil
}

// current returns the request's live session, refreshing its access token
// when due (force: whatever its expiry). A session whose record is gone, or
// whose refresh failed, has its cookie cleared.
func (s *Server) current(w http.ResponseWriter, r *http.Request, force bool) (*record, error) {
	return s.currentRecord(w, r, force, false)
}

// currentHead is current for /auth/verify, which needs only the head:
// with a HeadGetter the check reads the head alone, and the whole record
// only when it must write it (writeDue). The record it returns may have
// no body.
func (s *Server) currentHead(w http.ResponseWriter, r *http.Request) (*record, error) {
	return s.currentRecord(w, r, false, true)
}

func (s *Server) currentRecord(w http.ResponseWriter, r *http.Request, force, head bool) (*record, error) {
	cookie := s.sessionCookie(r)
	if cookie == "" {
		return nil, errNoSession
	}
	ctx := r.Context()
	id := sessionID(cookie)
	var rec *record
	var err error
	if head {
		rec, err = s.loadHead(ctx, id)
	} else {
		rec, err = s.loadRecord(ctx, id)
	}
	if err == nil {
		if st := s.Engine().Strategy(rec.Strategy); st == nil {
			// A reload removed the session's strategy: its identity can no
			// longer be refreshed, revoked or trusted by a new configuration.
			s.dropRecord(ctx, rec)
			s.announce(eventStrategyRemoved, rec)
			rec, err = nil, errNoSession
		} else {
			if rec.body == nil && s.writeDue(st, rec) {
				rec, err = s.loadRecord(ctx, id) // the whole record, to swap
			}
			if err == nil {
				rec, err = s.refreshIfDue(ctx, st, rec, force)
			}
		}
	}
	if err == nil {
		rec = s.touch(ctx, rec)
	}
	if sessionEnded(err) {
		s.setSessionCookie(w, "", time.Time{})
	}
	return rec, err
}

// touch records that rec was used now, for the idle timeout: at most once
// per tenth of it, so that a session in use costs a write only now and
// then. A lost race (the record changed meanwhile) is harmless.
func (s *Server) touch(ctx context.Context, rec *record) *record {
	if s.cfg.IdleTimeout <= 0 {
		return rec
	}
	now := s.cfg.Now()
	if !s.touchDue(rec, now) {
		return rec
	}
	next := *rec // the same identity and body
	next.LastSeen = now
	if s.updateRecord(ctx, rec, &next) != nil {
		return rec
	}
	return &next
}

// touchDue reports whether touch would write rec at now.
func (s *Server) touchDue(rec *record, now time.Time) bool {
	return s.cfg.IdleTimeout > 0 && now.Sub(rec.LastSeen) >= s.cfg.IdleTimeout/10
}

// writeDue reports whether a check of rec, read at Config.Now, would
// write it: an idle-timeout touch (touch), or a refresh (refreshIfDue,
// without force: due, possible, and not waiting).
func (s *Server) writeDue(st *engine.Strategy, rec *record) bool {
	now := s.cfg.Now()
	if s.touchDue(rec, now) {
		return true
	}
	return rec.refreshDue(now, s.cfg.RefreshSkew) && st.CanRefresh() && rec.Refreshable && s.refreshWait(rec, now) <= 0
}

// endSession ends the request's session and clears its cookie. It returns
// the record that was live, or nil.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) *record {
	var rec *record
	if cookie := s.sessionCookie(r); cookie != "" {
		rec = s.dropSession(r.Context(), sessionID(cookie))
	}
	s.setSessionCookie(w, "", time.Time{})
	return rec
}
