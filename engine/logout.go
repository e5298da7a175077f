package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authflow/authflow/strategies"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// that makes it a back-channel logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// ErrNoBackchannelLogout: the strategy does not enable back-channel logout.
var ErrNoBackchannelLogout = errors.New("back-channel logout is not enabled for this strategy")

// LogoutToken is a verified back-channel logout token: it names a session
// at the IdP (SessionID, the ID token's sid), a user (Subject), or both.
type LogoutToken struct {
	Subject   string
	SessionID string
	ID        string    // jti: accept each once
	IssuedAt  time.Time // iat
	Expiry    time.Time // exp; zero when the token has none
}

// newLogoutVerifier builds the logout-token verifier from the strategy's
// jwt step: same keys, issuer, audience and algorithms as the ID token, but
// exp is optional; iat is checked by the caller.
func (s *Strategy) newLogoutVerifier() (*verifier, error) {
	d := s.def.Step(strategies.StepJWT)
	if d == nil || !d.IsDecode() || !d.Verify {
		return nil, fmt.Errorf("backchannel_logout: needs a verified decode step named %q", strategies.StepJWT)
	}
	v, err := s.newVerifier(*d, false)
	if err != nil {
		return nil, fmt.Errorf("backchannel_logout: step %q: %w", d.Name, err)
	}
	return v, nil
}

// BackchannelLogout reports whether the strategy accepts back-channel
// logout tokens ("backchannel_logout": true).
func (s *Strategy) BackchannelLogout() bool { return s.logoutVerifier != nil }

// VerifyLogoutToken checks a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.6): the signature with the keys of the
// strategy's jwt step and an allowed algorithm, iss, aud, iat (required),
// exp when present, the events claim holding the back-channel logout event
// as a JSON object, a sub or a sid, a jti, and no nonce (which would make
// it usable as an ID token). The caller must accept each jti only once.
// Failures wrap ErrInvalidToken.
func (s *Strategy) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	if s.logoutVerifier == nil {
		return nil, ErrNoBackchannelLogout
	}
	claims, err := s.logoutVerifier.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	events, _ := claims["events"].(map[string]any)
	if _, ok := events[BackchannelLogoutEvent].(map[string]any); !ok {
		return nil, invalidToken(fmt.Errorf("logout token: events claim has no %q object", BackchannelLogoutEvent))
	}
	if _, has := claims["nonce"]; has {
		return nil, invalidToken(errors.New("logout token: has a nonce claim (refused so that an ID token cannot pass as a logout token)"))
	}
	t := &LogoutToken{Subject: str("sub"), SessionID: str("sid"), ID: str("jti")}
	if t.Subject == "" && t.SessionID == "" {
		return nil, invalidToken(errors.New("logout token: neither sub nor sid"))
	}
	if t.ID == "" {
		return nil, invalidToken(errors.New("logout token: no jti"))
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return nil, invalidToken(errors.New("logout token: no iat"))
	}
	t.IssuedAt = iat.Time
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		t.Expiry = exp.Time
	}
	return t, nil
}
