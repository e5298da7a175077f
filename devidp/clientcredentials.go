package devidp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The client credentials grant (RFC 6749 §4.4): a confidential client
// gets an access token for itself with its id and secret. The token's
// subject is the client; it has no refresh token and no ID token, and
// introspection (RFC 7662) answers it active with the client as sub.

var _ op.ClientCredentialsStorage = (*storage)(nil)

// clientGrantPrefix begins the grant id of a client credentials token,
// which marks it as naming no user.
const clientGrantPrefix = "client-credentials:"

// clientCredentialsRequest is a client_credentials token request as op's
// TokenRequest.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

// GetSubject implements op.TokenRequest: the client itself.
func (r *clientCredentialsRequest) GetSubject() string { return r.clientID }

// GetAudience implements op.TokenRequest.
func (r *clientCredentialsRequest) GetAudience() []string { return []string{r.clientID} }

// GetScopes implements op.TokenRequest.
func (r *clientCredentialsRequest) GetScopes() []string { return r.scopes }

// ClientCredentials implements op.ClientCredentialsStorage: a confidential
// client with its secret. op has checked neither.
func (s *storage) ClientCredentials(_ context.Context, clientID, clientSecret string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok || c.method == oidc.AuthMethodNone {
		return nil, fmt.Errorf("devidp: client %q: unknown or public: client credentials need a confidential client", clientID)
	}
	if err := s.clients.authorize(clientID, clientSecret); err != nil {
		return nil, err
	}
	return c, nil
}

// ClientCredentialsTokenRequest implements op.ClientCredentialsStorage.
// Of the OpenID scopes, which ask for a user's claims, none is granted.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	granted := slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool {
		return sc == oidc.ScopeOpenID || sc == oidc.ScopeProfile || sc == oidc.ScopeEmail || sc == oidc.ScopeOfflineAccess
	})
	return &clientCredentialsRequest{clientID: clientID, scopes: granted}, nil
}

// createGrantToken stores the access token of a client credentials or a
// device grant, and reports whether req is one; CreateAccessToken and
// CreateAccessAndRefreshTokens hand these to it first.
func (s *storage) createGrantToken(req op.TokenRequest, withRefresh bool) (id, refresh string, exp time.Time, ok bool, err error) {
	switch r := req.(type) {
	case *clientCredentialsRequest:
		s.mu.Lock()
		defer s.mu.Unlock()
		at := s.newAccessToken(clientGrantPrefix+randomID(16), "", r.clientID, r.clientID, r.GetAudience(), r.scopes)
		return at.id, "", at.expires, true, nil
	case *op.DeviceAuthorizationState:
		id, refresh, exp, err := s.redeemDevice(r, withRefresh)
		return id, refresh, exp, true, err
	}
	return "", "", time.Time{}, false, nil
}

// introspectClient answers the introspection of a client credentials
// token, which names no user, and reports whether at is one.
func (s *storage) introspectClient(resp *oidc.IntrospectionResponse, at accessToken) bool {
	if !strings.HasPrefix(at.grantID, clientGrantPrefix) {
		return false
	}
	resp.Subject = at.clientID
	at.describe(resp)
	return true
}
