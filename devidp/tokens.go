package devidp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// accessToken is what an opaque access token stands for. The token the
// client holds is op's encryption of "id:subject".
type accessToken struct {
	id       string
	grantID  string // shared by every token of one login, across refreshes
	sid      string // the OP session of the login
	clientID string
	subject  string
	audience []string
	scopes   []string
	issued   time.Time
	expires  time.Time
}

// refreshToken is a refresh token; the token itself is its key.
type refreshToken struct {
	token    string
	grantID  string
	sid      string
	clientID string
	subject  string
	audience []string
	scopes   []string // as granted at login; a refresh may narrow its access token only
	amr      []string
	authTime time.Time
	expires  time.Time
}

// refreshRequest is a refresh token as op's RefreshTokenRequest: a copy, so
// that SetCurrentScopes narrows this request only.
type refreshRequest struct {
	rt     refreshToken
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

// GetAMR implements op.RefreshTokenRequest.
func (r *refreshRequest) GetAMR() []string { return r.rt.amr }

// GetAudience implements op.RefreshTokenRequest.
func (r *refreshRequest) GetAudience() []string { return r.rt.audience }

// GetAuthTime implements op.RefreshTokenRequest.
func (r *refreshRequest) GetAuthTime() time.Time { return r.rt.authTime }

// GetClientID implements op.RefreshTokenRequest.
func (r *refreshRequest) GetClientID() string { return r.rt.clientID }

// GetScopes implements op.RefreshTokenRequest.
func (r *refreshRequest) GetScopes() []string { return r.scopes }

// GetSubject implements op.RefreshTokenRequest.
func (r *refreshRequest) GetSubject() string { return r.rt.subject }

// SetCurrentScopes implements op.RefreshTokenRequest.
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// errUnsupportedRequest answers token requests of grants devidp does not
// offer (op routes only authorization_code and refresh_token here).
func errUnsupportedRequest() *oidc.Error {
	return oidc.ErrUnsupportedGrantType().WithDescription("devidp supports authorization_code and refresh_token only")
}

// CreateAccessToken implements op.AuthStorage: a code exchange without
// offline_access.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	if id, _, exp, ok, err := s.createGrantToken(req, false); ok { // clientcredentials.go
		return id, exp, err
	}
	ar, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, errUnsupportedRequest()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.redeem(ar); err != nil {
		return "", time.Time{}, err
	}
	at := s.newAccessToken(randomID(16), ar.sid, ar.clientID, ar.userID, ar.GetAudience(), ar.scopes)
	return at.id, at.expires, nil
}

// CreateAccessAndRefreshTokens implements op.AuthStorage: a code exchange
// with offline_access (currentRefreshToken is empty), or a refresh. A
// refresh rotates: the presented token is used up, and the answer carries a
// new one. Access tokens issued earlier stay valid until they expire.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, currentRefreshToken string) (string, string, time.Time, error) {
	if id, rt, exp, ok, err := s.createGrantToken(req, true); ok && currentRefreshToken == "" { // clientcredentials.go
		return id, rt, exp, err
	}
	if currentRefreshToken == "" {
		ar, ok := req.(*authRequest)
		if !ok {
			return "", "", time.Time{}, errUnsupportedRequest()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.redeem(ar); err != nil {
			return "", "", time.Time{}, err
		}
		at := s.newAccessToken(randomID(16), ar.sid, ar.clientID, ar.userID, ar.GetAudience(), ar.scopes)
		rt := s.newRefreshToken(refreshToken{
			grantID:  at.grantID,
			sid:      ar.sid,
			clientID: ar.clientID,
			subject:  ar.userID,
			audience: ar.GetAudience(),
			scopes:   ar.scopes,
			amr:      ar.GetAMR(),
			authTime: ar.authTime,
		})
		return at.id, rt.token, at.expires, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.refreshTokens[currentRefreshToken]
	if !ok || s.now().After(old.expires) {
		// Two refreshes with one token race here: the first used it up.
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token unknown, expired, revoked or already used")
	}
	delete(s.refreshTokens, currentRefreshToken)
	ss, ok := s.sessions[old.sid]
	if !ok {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the sign-in session has ended")
	}
	ss.join(old.clientID, s.now())
	at := s.newAccessToken(old.grantID, old.sid, old.clientID, old.subject, old.audience, req.GetScopes())
	next := *old
	rt := s.newRefreshToken(next)
	return at.id, rt.token, at.expires, nil
}

// newAccessToken stores an access token. s.mu must be held.
func (s *storage) newAccessToken(grantID, sid, clientID, subject string, audience, scopes []string) *accessToken {
	now := s.now()
	at := &accessToken{
		id:       randomID(16),
		grantID:  grantID,
		sid:      sid,
		clientID: clientID,
		subject:  subject,
		audience: slices.Clone(audience),
		scopes:   slices.Clone(scopes),
		issued:   now,
		expires:  now.Add(s.accessTokenLifetime),
	}
	s.accessTokens[at.id] = at
	return at
}

// newRefreshToken stores rt under a new token value with a fresh lifetime.
// s.mu must be held.
func (s *storage) newRefreshToken(rt refreshToken) *refreshToken {
	rt.token = randomID(32)
	rt.expires = s.now().Add(s.refreshTokenLifetime)
	s.refreshTokens[rt.token] = &rt
	return &rt
}

// TokenRequestByRefreshToken implements op.AuthStorage.
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok || s.now().After(rt.expires) {
		return nil, errors.New("devidp: refresh token unknown, expired, revoked or already used")
	}
	return &refreshRequest{rt: *rt, scopes: rt.scopes}, nil
}

// GetRefreshTokenInfo implements op.AuthStorage, for revocation.
func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.subject, rt.token, nil
}

// RevokeToken implements op.AuthStorage (RFC 7009). tokenOrID is an access
// token's id or a refresh token. Revoking a refresh token also revokes the
// access tokens of its login; revoking an access token leaves the refresh
// token. Unknown tokens are not an error: they are as good as revoked.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.accessTokens[tokenOrID]; ok {
		if at.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.accessTokens, tokenOrID)
		return nil
	}
	if rt, ok := s.refreshTokens[tokenOrID]; ok {
		if rt.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.refreshTokens, tokenOrID)
		s.revokeGrant(rt.grantID)
	}
	return nil
}

// revokeGrant deletes every access token of a login. s.mu must be held.
func (s *storage) revokeGrant(grantID string) {
	for id, at := range s.accessTokens {
		if at.grantID == grantID {
			delete(s.accessTokens, id)
		}
	}
}

// validAccessToken returns a copy of a live access token.
func (s *storage) validAccessToken(id, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.accessTokens[id]
	if !ok || s.now().After(at.expires) || at.subject != subject {
		return accessToken{}, errors.New("devidp: access token unknown, expired or revoked")
	}
	return *at, nil
}

// SetUserinfoFromScopes implements op.OPStorage. op calls it and then
// SetUserinfoFromRequest, which does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the ID
// token's user claims, and sid, the OP session of the login (OpenID Connect
// Back-Channel Logout 1.0 §2.1). op calls it for ID tokens only, so the
// UserInfo endpoint, which SetUserinfoFromToken answers, shows no sid.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.users.setUserinfo(info, req.GetSubject(), scopes); err != nil {
		return err
	}
	if sid := sessionID(req); sid != "" {
		info.AppendClaims("sid", sid)
	}
	return nil
}

// SetUserinfoFromToken implements op.OPStorage: the UserInfo endpoint.
// op answers an error here with 403.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	at, err := s.validAccessToken(tokenID, subject)
	if err != nil {
		return err
	}
	return s.users.setUserinfo(info, at.subject, at.scopes)
}

// SetIntrospectionFromToken implements op.OPStorage (RFC 7662): a client
// may introspect the tokens issued to it.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, err := s.validAccessToken(tokenID, subject)
	if err != nil {
		return err
	}
	if !slices.Contains(at.audience, clientID) {
		return fmt.Errorf("devidp: access token was not issued to %q", clientID)
	}
	if s.introspectClient(resp, at) { // clientcredentials.go
		return nil
	}
	info := new(oidc.UserInfo)
	if err := s.users.setUserinfo(info, at.subject, at.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	at.describe(resp)
	return nil
}

// GetPrivateClaimsFromScopes implements op.OPStorage. op asks for it only
// for JWT access tokens, and asks GetPrivateClaimsFromRequest
// (accesstoken.go) first.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// describe sets what an introspection answer says of the token itself:
// scope, client, type, lifetime and audience.
func (at accessToken) describe(resp *oidc.IntrospectionResponse) {
	resp.Scope = at.scopes
	resp.ClientID = at.clientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(at.expires)
	resp.IssuedAt = oidc.FromTime(at.issued)
	resp.Audience = at.audience
}
