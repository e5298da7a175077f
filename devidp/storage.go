package devidp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the op.Storage of a Provider: clients, users, keys, and in
// memory the pending auth requests, codes, tokens and OP sessions. This file
// holds the authorization-request side; tokens.go the token side;
// backchannel.go the sessions and their logout.
type storage struct {
	clients clientRegistry
	users   *userDirectory
	keys    *keyRing
	logout  *backchannel

	accessTokenLifetime  time.Duration
	refreshTokenLifetime time.Duration
	now                  func() time.Time // Options.Now

	mu            sync.Mutex
	authRequests  map[string]*authRequest  // by id
	codes         map[string]string        // code → auth request id
	accessTokens  map[string]*accessToken  // by id
	refreshTokens map[string]*refreshToken // by the token itself
	sessions      map[string]*session      // by sid
	devices       map[string]*deviceGrant  // by device code (device.go)
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)

	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// newStorage returns an empty storage.
func newStorage(clients clientRegistry, users *userDirectory, keys *keyRing, logout *backchannel, accessTTL, refreshTTL time.Duration) *storage {
	return &storage{
		clients:              clients,
		users:                users,
		keys:                 keys,
		logout:               logout,
		accessTokenLifetime:  accessTTL,
		refreshTokenLifetime: refreshTTL,
		authRequests:         map[string]*authRequest{},
		codes:                map[string]string{},
		accessTokens:         map[string]*accessToken{},
		refreshTokens:        map[string]*refreshToken{},
		sessions:             map[string]*session{},
	}
}

// randomID returns n random bytes, base64url-encoded: ids and refresh tokens.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authRequest is an authorization request from the authorize endpoint until
// its code is exchanged. Storage methods hand op copies, so that op never
// reads a field another request is writing.
type authRequest struct {
	id           string
	created      time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	loginHint    string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge

	// Set by the login page.
	done     bool
	userID   string
	authTime time.Time
	sid      string // the OP session the login started

	// Set when the code is issued and exchanged.
	code       string
	codeIssued time.Time
	exchanged  bool
}

var _ op.AuthRequest = (*authRequest)(nil)

// GetID implements op.AuthRequest.
func (a *authRequest) GetID() string { return a.id }

// GetACR implements op.AuthRequest: no acr.
func (a *authRequest) GetACR() string { return "" }

// GetAMR implements op.AuthRequest: a password once the user signed in.
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// GetAudience implements op.AuthRequest: the client.
func (a *authRequest) GetAudience() []string { return []string{a.clientID} }

// GetAuthTime implements op.AuthRequest.
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }

// GetClientID implements op.AuthRequest.
func (a *authRequest) GetClientID() string { return a.clientID }

// GetCodeChallenge implements op.AuthRequest.
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }

// GetNonce implements op.AuthRequest.
func (a *authRequest) GetNonce() string { return a.nonce }

// GetRedirectURI implements op.AuthRequest.
func (a *authRequest) GetRedirectURI() string { return a.redirectURI }

// GetResponseType implements op.AuthRequest.
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.responseType }

// GetResponseMode implements op.AuthRequest.
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.responseMode }

// GetScopes implements op.AuthRequest.
func (a *authRequest) GetScopes() []string { return a.scopes }

// GetState implements op.AuthRequest.
func (a *authRequest) GetState() string { return a.state }

// GetSubject implements op.AuthRequest.
func (a *authRequest) GetSubject() string { return a.userID }

// Done implements op.AuthRequest: whether the user signed in.
func (a *authRequest) Done() bool { return a.done }

// expired reports whether the request is too old to finish.
func (a *authRequest) expired(now time.Time) bool {
	return now.After(a.created.Add(authRequestLifetime))
}

// errLoginNotPending is the login page's answer to an unknown, expired or
// finished auth request id.
var errLoginNotPending = errors.New("devidp: the sign-in request is unknown, expired or already finished")

// CreateAuthRequest implements op.AuthStorage. op has checked the client,
// redirect URI, scopes and response type; this adds what a development IdP
// without sessions insists on: S256 for PKCE, PKCE for public clients, and
// login_required for prompt=none.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	for _, p := range req.Prompt {
		if p == oidc.PromptNone {
			return nil, oidc.ErrLoginRequired().WithDescription("devidp keeps no sessions: every sign-in shows the login page")
		}
	}
	var challenge *oidc.CodeChallenge
	if req.CodeChallenge != "" {
		if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
			return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
		}
		challenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
	}
	if c, ok := s.clients[req.ClientID]; ok && c.method == oidc.AuthMethodNone && challenge == nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("a public client must send a code_challenge (PKCE, S256)")
	}

	now := s.now()
	ar := &authRequest{
		id:           randomID(16),
		created:      now,
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		loginHint:    req.LoginHint,
		scopes:       append([]string(nil), req.Scopes...),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		challenge:    challenge,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.authRequests[ar.id] = ar
	cp := *ar
	return &cp, nil
}

// sweep forgets expired auth requests and tokens, and OP sessions unused
// for longer than both a refresh token and an ID token live, so that a
// long-running demo does not grow. s.mu must be held.
func (s *storage) sweep(now time.Time) {
	for id, ar := range s.authRequests {
		if ar.expired(now) {
			s.deleteAuthRequest(id)
		}
	}
	for id, at := range s.accessTokens {
		if now.After(at.expires) {
			delete(s.accessTokens, id)
		}
	}
	for token, rt := range s.refreshTokens {
		if now.After(rt.expires) {
			delete(s.refreshTokens, token)
		}
	}
	idle := max(s.refreshTokenLifetime, idTokenLifetime)
	for id, ss := range s.sessions {
		if now.After(ss.lastUsed.Add(idle)) {
			delete(s.sessions, id)
		}
	}
}

// AuthRequestByID implements op.AuthStorage.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.authRequests[id]
	if !ok || ar.expired(s.now()) {
		return nil, fmt.Errorf("devidp: auth request %q: unknown or expired", id)
	}
	cp := *ar
	return &cp, nil
}

// AuthRequestByCode implements op.AuthStorage.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errors.New("devidp: code unknown or already used")
	}
	ar, ok := s.authRequests[id]
	now := s.now()
	if !ok || ar.expired(now) || now.After(ar.codeIssued.Add(codeLifetime)) {
		return nil, errors.New("devidp: code expired")
	}
	cp := *ar
	return &cp, nil
}

// SaveAuthCode implements op.AuthStorage. One login yields one code: a
// second visit to the callback is refused instead of minting another.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.authRequests[id]
	switch {
	case !ok:
		return fmt.Errorf("devidp: auth request %q: unknown or expired", id)
	case !ar.done:
		return oidc.ErrInteractionRequired().WithDescription("the user has not signed in")
	case ar.code != "":
		return oidc.ErrInvalidRequest().WithDescription("a code was already issued for this sign-in")
	}
	ar.code, ar.codeIssued = code, s.now()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest implements op.AuthStorage; op calls it once the code is
// exchanged, after which the code is unknown (invalid_grant).
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteAuthRequest(id)
	return nil
}

// deleteAuthRequest forgets an auth request and its code. s.mu must be held.
func (s *storage) deleteAuthRequest(id string) {
	if ar, ok := s.authRequests[id]; ok && ar.code != "" {
		delete(s.codes, ar.code)
	}
	delete(s.authRequests, id)
}

// pendingLogin returns a copy of the auth request the login page shows:
// known, not expired, and not yet signed in.
func (s *storage) pendingLogin(id string) (authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.authRequests[id]
	if !ok || ar.done || ar.expired(s.now()) {
		return authRequest{}, errLoginNotPending
	}
	return *ar, nil
}

// completeLogin marks a pending auth request as signed in by userID, in a
// new OP session.
func (s *storage) completeLogin(id, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.authRequests[id]
	now := s.now()
	if !ok || ar.done || ar.expired(now) {
		return errLoginNotPending
	}
	ar.done, ar.userID, ar.authTime = true, userID, now
	ar.sid = s.newSession(userID, now).id
	return nil
}

// redeem marks the auth request behind a code exchange as exchanged, so
// that of two concurrent exchanges of one code only the first gets tokens,
// and records the client in the login's OP session, which must not have
// ended. s.mu must be held.
func (s *storage) redeem(ar *authRequest) error {
	stored, ok := s.authRequests[ar.id]
	if !ok || stored.exchanged {
		return oidc.ErrInvalidGrant().WithDescription("code already used")
	}
	ss, ok := s.sessions[stored.sid]
	if !ok {
		return oidc.ErrInvalidGrant().WithDescription("the sign-in session has ended")
	}
	stored.exchanged = true
	ss.join(stored.clientID, s.now())
	return nil
}

// GetClientByClientID implements op.OPStorage.
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client_id")
	}
	return c, nil
}

// AuthorizeClientIDSecret implements op.OPStorage.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	return s.clients.authorize(clientID, clientSecret)
}

// SigningKey implements op.AuthStorage.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.keys.signing(), nil
}

// SignatureAlgorithms implements op.AuthStorage.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.keys.alg}, nil
}

// KeySet implements op.AuthStorage: the JWKS.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return s.keys.public(), nil
}

// errNoJWTProfile answers the JWT-profile hooks: devidp's clients
// authenticate with secrets only.
var errNoJWTProfile = errors.New("devidp: JWT client authentication and the JWT bearer grant are not supported")

// GetKeyByIDAndClientID implements op.OPStorage; not supported.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNoJWTProfile
}

// ValidateJWTProfileScopes implements op.OPStorage; not supported.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNoJWTProfile
}

// Health implements op.Storage.
func (s *storage) Health(context.Context) error { return nil }
