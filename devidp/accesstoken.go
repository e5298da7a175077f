package devidp

import (
	"context"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// A client with AccessTokenJWT gets JWT access tokens: op signs them with
// the Provider's key (the ID tokens'), with iss, sub, aud (the client),
// exp, iat, nbf, client_id and jti (the stored token's id, so that
// introspection and revocation find it). The claims below join them.

var _ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)

// GetPrivateClaimsFromRequest implements op.CanGetPrivateClaimsFromRequest
// for JWT access tokens: scope, every scope granted (RFC 9068 §2.2.3), and
// the user's email, email_verified and groups as the scopes allow them
// (RFC 9068 §2.2.3.1), so that an API can tell who calls without a
// UserInfo request.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	scopes := req.GetScopes()
	claims := map[string]any{"scope": strings.Join(scopes, " ")}
	info := new(oidc.UserInfo)
	if err := s.users.setUserinfo(info, req.GetSubject(), scopes); err != nil {
		return nil, err
	}
	if info.Email != "" {
		claims["email"] = info.Email
		claims["email_verified"] = bool(info.EmailVerified)
	}
	if g, ok := info.Claims["groups"]; ok {
		claims["groups"] = g
	}
	return claims, nil
}
