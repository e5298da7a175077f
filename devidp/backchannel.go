package devidp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// OpenID Connect Back-Channel Logout 1.0.
const (
	// backchannelLogoutEvent is the member of a logout token's events claim.
	backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenType is a logout token's typ header (explicit typing, §2.4).
	logoutTokenType = "logout+jwt"
	// logoutTokenLifetime is from a logout token's iat to its exp.
	logoutTokenLifetime = 2 * time.Minute
	// backchannelTimeout bounds each delivery of a logout token.
	backchannelTimeout = 5 * time.Second
)

// session is an OP session: one successful login on the login page. The ID
// tokens of that login (and of its refreshes) carry its id as sid.
type session struct {
	id       string
	userID   string
	clients  []string  // that received tokens in this session, in order
	lastUsed time.Time // the login or the latest token issued in it
}

// join records that clientID received tokens in the session at now.
func (ss *session) join(clientID string, now time.Time) {
	if !slices.Contains(ss.clients, clientID) {
		ss.clients = append(ss.clients, clientID)
	}
	ss.lastUsed = now
}

// endedSession is what the back-channel logout of a session needs: a copy,
// taken when the session ended.
type endedSession struct {
	id, userID string
	clients    []string
}

// backchannel sends logout tokens to the clients of ended sessions.
type backchannel struct {
	issuer  string
	keys    *keyRing
	clients clientRegistry
	http    *http.Client // follows no redirects

	delivered, failed atomic.Int64
}

// newBackchannel returns a sender that POSTs with client (nil: a client with
// a 5s timeout). A redirect answer is not followed: it counts as a failure.
func newBackchannel(issuer string, keys *keyRing, clients clientRegistry, client *http.Client) *backchannel {
	if client == nil {
		client = &http.Client{Timeout: backchannelTimeout}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &backchannel{issuer: issuer, keys: keys, clients: clients, http: &c}
}

// send delivers a logout token to every client with a BackchannelLogoutURI
// that received tokens in the ended sessions, concurrently and each within
// 5s, and returns how many the clients accepted with a 2xx status. Failures
// are counted, not returned.
func (b *backchannel) send(ctx context.Context, ended []endedSession) int {
	var (
		wg        sync.WaitGroup
		delivered atomic.Int64
	)
	for _, ss := range ended {
		for _, id := range ss.clients {
			c, ok := b.clients[id]
			if !ok || c.backchannelLogoutURI == "" {
				continue
			}
			wg.Go(func() {
				if err := b.deliver(ctx, c, ss); err != nil {
					b.failed.Add(1)
					return
				}
				b.delivered.Add(1)
				delivered.Add(1)
			})
		}
	}
	wg.Wait()
	return int(delivered.Load())
}

// deliver POSTs one logout token to c's back-channel logout URI (§2.5).
func (b *backchannel) deliver(ctx context.Context, c *client, ss endedSession) error {
	token, err := b.logoutToken(c.id, ss)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.backchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("devidp: back-channel logout of %q: %s", c.id, resp.Status)
	}
	return nil
}

// logoutToken returns the signed logout token (§2.4) of a session for one
// of its clients: sub and sid both, a fresh jti, and no nonce.
func (b *backchannel) logoutToken(clientID string, ss endedSession) (string, error) {
	now := time.Now()
	claims := oidc.NewLogoutTokenClaims(b.issuer, ss.userID, oidc.Audience{clientID},
		now.Add(logoutTokenLifetime), randomID(16), ss.id, 0)
	claims.IssuedAt = oidc.FromTime(now)
	return b.keys.sign(map[string]any{"typ": logoutTokenType}, claims)
}

// newSession starts an OP session for userID. s.mu must be held.
func (s *storage) newSession(userID string, now time.Time) *session {
	ss := &session{id: randomID(16), userID: userID, lastUsed: now}
	s.sessions[ss.id] = ss
	return ss
}

// endSessions forgets the sessions that match and revokes their access and
// refresh tokens. It returns copies for the back-channel logout.
func (s *storage) endSessions(match func(*session) bool) []endedSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ended []endedSession
	for id, ss := range s.sessions {
		if !match(ss) {
			continue
		}
		delete(s.sessions, id)
		ended = append(ended, endedSession{id: ss.id, userID: ss.userID, clients: slices.Clone(ss.clients)})
		for token, rt := range s.refreshTokens {
			if rt.sid == id {
				delete(s.refreshTokens, token)
			}
		}
		for atID, at := range s.accessTokens {
			if at.sid == id {
				delete(s.accessTokens, atID)
			}
		}
	}
	return ended
}

// TerminateSessionFromRequest implements op.CanTerminateSessionFromRequest,
// which op's end_session endpoint calls instead of TerminateSession when it
// is there: RP-initiated logout. Without an id_token_hint (no user) there is
// nothing to end. With one, it ends the user's OP session that the hint's
// sid names (none when that session has already ended), or every session of
// the user when the hint has no sid (devidp's ID tokens always have one).
// Ending a session revokes its tokens and sends its clients logout tokens;
// a failed delivery does not fail the logout, and a browser that goes away
// does not stop the deliveries.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if req.UserID == "" {
		return req.RedirectURI, nil
	}
	var sid string
	if req.IDTokenHintClaims != nil {
		sid = req.IDTokenHintClaims.SessionID
	}
	ended := s.endSessions(func(ss *session) bool {
		return ss.userID == req.UserID && (sid == "" || ss.id == sid)
	})
	s.logout.send(context.WithoutCancel(ctx), ended)
	return req.RedirectURI, nil
}

// TerminateSession implements op.AuthStorage. op calls
// TerminateSessionFromRequest instead; this, knowing no sid, ends every
// session of the user.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	_, err := s.TerminateSessionFromRequest(ctx, &op.EndSessionRequest{UserID: userID, ClientID: clientID})
	return err
}

// sessionID returns the OP session of an ID token request: the sid claim.
func sessionID(req op.IDTokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		return r.sid
	case *refreshRequest:
		return r.rt.sid
	}
	return ""
}

// EndSessions ends every OP session of the user with this username, as an
// admin console would: their access and refresh tokens are revoked, and
// every client that received tokens in one of them and registered a
// BackchannelLogoutURI is sent a logout token. It returns how many logout
// tokens the clients accepted (a 2xx answer); failed deliveries are counted
// in Stats, not returned. The error is for an unknown username only.
func (p *Provider) EndSessions(ctx context.Context, username string) (int, error) {
	u, ok := p.store.users.byUsername[username]
	if !ok {
		return 0, fmt.Errorf("devidp: end sessions: unknown user %q", username)
	}
	ended := p.store.endSessions(func(ss *session) bool { return ss.userID == u.ID })
	return p.store.logout.send(ctx, ended), nil
}

// SignJWT signs claims as a JWT with the current signing key, the one that
// signs ID tokens, and returns it in compact form. The protected header has
// alg and kid, then header's entries, which may override them (a "typ", or a
// wrong "kid"); there is no typ unless header gives one.
//
// It is a test aid: it builds hand-made tokens that verify against the JWKS,
// such as a logout token with one rule broken, to test that a client
// refuses them.
func (p *Provider) SignJWT(header map[string]any, claims map[string]any) (string, error) {
	if claims == nil {
		claims = map[string]any{}
	}
	return p.store.keys.sign(header, claims)
}
