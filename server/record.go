package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authflow/authflow/engine"
)

// record is a session's server-side state. Records are immutable once
// stored: a change is a new record swapped in for the old one (next :=
// *cur, changed, then updateRecord), sharing what did not change.
//
// A record has two parts. The head — these fields and the identity — is
// what a check needs: whose session it is, its lifetime, when its access
// token expires, and the X-Auth-* header values, ready to send. The body —
// the user object, the mapped claims and the tokens — is read only when
// something needs it (a refresh, /auth/session, Require's User, sign-out).
// In a byte store the record is the head's encoding, a newline, then the
// body's (recordcodec.go), so that /auth/verify decodes a few hundred bytes
// of head and never the tokens.
type record struct {
	ID       string // "session:" + hash of the cookie; also the index member and lock name
	Strategy string
	Subject  string
	IdPSID   string // the ID token's sid, for back-channel logout
	Created  time.Time
	Expires  time.Time
	// LastSeen is when the session was last used, for the idle timeout;
	// written at most every idle timeout / 10.
	LastSeen time.Time
	// Refreshed is when the last refresh was tried: refreshes of one
	// session are at least Config.RefreshInterval apart.
	Refreshed time.Time
	// RetryAt, after a transient refresh failure, is when the next try may
	// be made; Failures counts such failures in a row.
	RetryAt  time.Time
	Failures int

	// What a check needs of the tokens, kept in the head: the access
	// token's Expiry and Issued (engine.Tokens), and whether there is a
	// refresh token. setBody keeps them equal to the body's.
	TokenExpiry time.Time
	TokenIssued time.Time
	Refreshable bool

	ident *identity   // the identity's header values and allow-list view
	body  *recordBody // user object, claims, tokens
	raw   string      // the stored bytes this copy was read from or written as (byte stores)
}

// refreshDue reports whether the access token should be refreshed at now
// (engine.Tokens.RefreshDue), from the head.
func (rec *record) refreshDue(now time.Time, skew time.Duration) bool {
	return engine.Tokens{Expiry: rec.TokenExpiry, Issued: rec.TokenIssued}.RefreshDue(now, skew)
}

// tokens returns the session's tokens, decoding the body if need be.
func (rec *record) tokens() (engine.Tokens, error) {
	b, err := rec.loadBody()
	if err != nil {
		return engine.Tokens{}, err
	}
	return b.tokens, nil
}

// user returns the session's User, decoding the body if need be.
func (rec *record) user() (*User, error) {
	b, err := rec.loadBody()
	if err != nil {
		return nil, err
	}
	return b.user, nil
}

func (rec *record) loadBody() (*recordBody, error) {
	if rec.body == nil {
		return nil, fmt.Errorf("session record %s: no body", rec.ID)
	}
	rec.body.once.Do(rec.body.decode)
	if rec.body.err != nil {
		return nil, fmt.Errorf("session record: %w", rec.body.err)
	}
	return rec.body, nil
}

// setBody gives rec a new body of user, claims and toks (and, with
// fresh, the identity they yield), and the head's token fields.
// rec must not be shared yet.
func (rec *record) setBody(user json.RawMessage, claims map[string]any, toks engine.Tokens, fresh bool) {
	b := &recordBody{
		user:   newUser(rec.Strategy, rec.Subject, claims, user, toks.Expiry),
		tokens: toks,
	}
	b.once.Do(func() {}) // decoded: it was never encoded
	rec.body = b
	rec.TokenExpiry, rec.TokenIssued, rec.Refreshable = toks.Expiry, toks.Issued, toks.RefreshToken != ""
	if fresh || rec.ident == nil {
		rec.ident = newIdentity(b.user)
	}
}

// withTokens returns a copy of rec with toks for tokens (a refresh: same
// identity, new tokens). rec's body must be loaded.
func (rec *record) withTokens(toks engine.Tokens) *record {
	next := *rec
	next.raw = ""
	next.setBody(rec.body.user.Raw, rec.body.user.Claims, toks, false)
	return &next
}

// recordBody is the part of a record a check does not read. Read from a
// byte store it is decoded at first use, once, however many goroutines
// share the record (the refresh singleflight hands one to all its
// waiters); made in this process it is decoded from the start.
type recordBody struct {
	once   sync.Once // decode
	enc    string    // the encoded body, as read ("" when made in this process, until encoded)
	user   *User
	tokens engine.Tokens
	err    error // of decode

	encOnce sync.Once // encode
	encErr  error

	// For decode: the head's strategy and subject, which the User carries.
	strategy, subject string
}

// bodyJSON is the encoding of a recordBody.
type bodyJSON struct {
	User   json.RawMessage `json:"user"`
	Claims map[string]any  `json:"claims,omitempty"`
	Tokens engine.Tokens   `json:"tokens"`
}

func (b *recordBody) decode() {
	var v bodyJSON
	if err := json.Unmarshal([]byte(b.enc), &v); err != nil {
		b.err = err
		return
	}
	b.user = newUser(b.strategy, b.subject, v.Claims, v.User, v.Tokens.Expiry)
	b.tokens = v.Tokens
}

// encoded returns the body's encoding: as read, or marshalled once.
func (b *recordBody) encoded() (string, error) {
	b.encOnce.Do(func() {
		if b.enc != "" {
			return
		}
		v, err := json.Marshal(bodyJSON{User: b.user.Raw, Claims: b.user.Claims, Tokens: b.tokens})
		b.enc, b.encErr = string(v), err
	})
	return b.enc, b.encErr
}

// identity is what a session's identity shows a check: the X-Auth-*
// header values, escaped (headers.go), and what the allow-lists read.
// It is made once per identity — at login, or from a stored head — and
// shared, read-only, by every version of the record.
type identity struct {
	// vals are the escaped values of X-Auth-User, X-Auth-Strategy,
	// X-Auth-Email and X-Auth-Groups; "" for a header not sent. Answers
	// share them as one-element slices of this array.
	vals     [4]string
	verified bool // emailVerified

	groupsOnce sync.Once
	groups     []string
}

// Indexes of identity.vals.
const (
	hdrUser = iota
	hdrStrategy
	hdrEmail
	hdrGroups
)

var identityHeaderNames = [4]string{"X-Auth-User", "X-Auth-Strategy", "X-Auth-Email", "X-Auth-Groups"}

// newIdentity returns the identity of u.
func newIdentity(u *User) *identity {
	id := &identity{verified: u.emailVerified()}
	id.vals[hdrUser] = escapeHeader(u.Subject, false)
	id.vals[hdrStrategy] = escapeHeader(u.Strategy, false)
	id.vals[hdrEmail] = escapeHeader(u.Email(), false)
	if g := u.groupList(); len(g) > 0 {
		id.vals[hdrGroups] = escapeHeaderList(g)
	}
	return id
}

// setHeaders sets the identity's X-Auth-* headers in h, sharing its
// values (read-only; the slices' capacity is 1, so an append copies).
func (id *identity) setHeaders(h http.Header) {
	for i := range id.vals {
		if id.vals[i] != "" || i < hdrEmail {
			h[identityHeaderNames[i]] = id.vals[i : i+1 : i+1]
		}
	}
}

// emailAddr is the user's email, or "".
func (id *identity) emailAddr() string { return unescapeHeader(id.vals[hdrEmail]) }

func (id *identity) emailVerified() bool { return id.verified }

// groupList is the user's groups, read back from X-Auth-Groups once.
func (id *identity) groupList() []string {
	id.groupsOnce.Do(func() {
		if v := id.vals[hdrGroups]; v != "" {
			for e := range strings.SplitSeq(v, ",") {
				id.groups = append(id.groups, unescapeHeader(e))
			}
		}
	})
	return id.groups
}
