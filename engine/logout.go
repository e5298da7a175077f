package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// that makes it a back-channel logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// ErrNoBackchannelLogout: the strategy does not enable back-channel logout.
var ErrNoBackchannelLogout = errors.New("back-channel logout is not enabled for this strategy")

// LogoutTokenMaxAge is how old a logout token may be: its iat must lie
// within this much (plus Options.Leeway) before the engine's clock. A
// logout token is sent as soon as the IdP session ends, so this covers
// delivery retries and clock skew. It bounds how long the receiver must
// remember a jti: a token without exp, or with a distant one, can never be
// replayed once its jti is forgotten.
const LogoutTokenMaxAge = 10 * time.Minute

// LogoutToken is a verified back-channel logout token: it names a session
// at the IdP (SessionID, the ID token's sid), a user (Subject), or both.
type LogoutToken struct {
	Subject   string
	SessionID string
	ID        string    // jti: accept each once
	IssuedAt  time.Time // iat
	Expiry    time.Time // exp; zero when the token has none
	// AcceptableUntil ends the time in which VerifyLogoutToken accepts
	// this token: iat + LogoutTokenMaxAge + leeway, or exp + leeway when
	// that is sooner; never after it. The receiver must remember the jti
	// at least until then.
	AcceptableUntil time.Time
}

// newLogoutVerifier builds the logout-token verifier from the strategy's
// jwt step: same keys, issuer, audience and algorithms as the ID token, but
// exp is optional; iat is checked by the caller.
func (s *Strategy) newLogoutVerifier() (*verifier, error) {
	d := s.plan.JWTStep()
	if d == nil || !d.IsDecode() || d.InsecureSkipVerify() {
		// The plan refuses this; a verifier is never made without keys.
		return nil, fmt.Errorf("backchannel_logout: needs a verified decode step named %q", strategies.StepJWT)
	}
	v, err := s.newVerifier(d, false)
	if err != nil {
		return nil, fmt.Errorf("backchannel_logout: step %q: %w", d.Name(), err)
	}
	return v, nil
}

// BackchannelLogout reports whether the strategy accepts back-channel
// logout tokens ("backchannel_logout": true).
func (s *Strategy) BackchannelLogout() bool { return s.logoutVerifier != nil }

// VerifyLogoutToken checks a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.6): the signature with the keys of the
// strategy's jwt step and an allowed algorithm, iss, aud, iat (required,
// not older than LogoutTokenMaxAge nor in the future, each with leeway),
// exp when present, the events claim holding the back-channel logout event
// as a JSON object, a sub or a sid, a jti, and no nonce (which would make
// it usable as an ID token). The caller must accept each jti only once,
// remembering it until the token's AcceptableUntil. Failures wrap
// ErrInvalidToken.
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
	if err := s.checkLogoutTimes(claims, t); err != nil {
		return nil, err
	}
	return t, nil
}

// checkLogoutTimes reads iat and exp into t, refuses an iat outside
// [now - LogoutTokenMaxAge - leeway, now + leeway], and sets
// t.AcceptableUntil. (The parser has already refused an exp in the past.)
func (s *Strategy) checkLogoutTimes(claims jwt.MapClaims, t *LogoutToken) error {
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return invalidToken(errors.New("logout token: no iat"))
	}
	t.IssuedAt = iat.Time
	now, leeway := s.e.opts.Now(), s.e.opts.Leeway
	if age := now.Sub(t.IssuedAt); age > LogoutTokenMaxAge+leeway {
		return invalidToken(fmt.Errorf("logout token: issued %s ago, more than %s", age.Round(time.Second), LogoutTokenMaxAge))
	}
	if t.IssuedAt.After(now.Add(leeway)) {
		return invalidToken(fmt.Errorf("logout token: %w", jwt.ErrTokenUsedBeforeIssued))
	}
	t.AcceptableUntil = t.IssuedAt.Add(LogoutTokenMaxAge + leeway)
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		t.Expiry = exp.Time
		if until := t.Expiry.Add(leeway); until.Before(t.AcceptableUntil) {
			t.AcceptableUntil = until
		}
	}
	return nil
}
