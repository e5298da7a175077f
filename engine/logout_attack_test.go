package engine_test

// Attacks on back-channel logout tokens (issue #10, item 8): old tokens
// that carry no exp, or an exp far away, must not be accepted beyond the
// window in which the receiver remembers their jti.

import (
	"errors"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// TestLogoutTokenAttackOldIAT: a logout token whose iat is 30 days old is
// refused, with no exp and with an exp still in the future.
func TestLogoutTokenAttackOldIAT(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile(backchannelOn, tokenStep(authPost), jwtStepJWKS))
	now := p.clock.Now()
	old := now.Add(-30 * 24 * time.Hour)
	claims := func(exp *time.Time) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": p.URL, "aud": testClientID, "iat": old.Unix(), "jti": "jti-old", "sub": testSub,
			"events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
		}
		if exp != nil {
			c["exp"] = exp.Unix()
		}
		return c
	}
	later := now.Add(time.Hour)
	for name, c := range map[string]jwt.MapClaims{"no exp": claims(nil), "exp in an hour": claims(&later)} {
		t.Run(name, func(t *testing.T) {
			raw := rsaSigner().sign(t, c, func(h map[string]any) { h["typ"] = "logout+jwt" })
			lt, err := s.VerifyLogoutToken(t.Context(), raw)
			if !errors.Is(err, engine.ErrInvalidToken) {
				t.Fatalf("30-day-old iat: VerifyLogoutToken = %+v, %v; want ErrInvalidToken", lt, err)
			}
		})
	}
}

// TestLogoutTokenWindow: the iat window's edges, and AcceptableUntil as the
// end of acceptance — the receiver remembers the jti until then, so that
// no replay can outlive its memory.
func TestLogoutTokenWindow(t *testing.T) {
	t.Parallel()
	const leeway = 30 * time.Second // the default
	window := engine.LogoutTokenMaxAge + leeway
	tests := []struct {
		name      string
		iat, exp  time.Duration // from now; exp 0: none
		wantUntil time.Duration // from now; 0: refused
	}{
		{"fresh, no exp", 0, 0, window},
		{"just inside the window", -window + time.Second, 0, time.Second},
		{"just outside the window", -window - time.Second, 0, 0},
		{"in the future within leeway", leeway, 0, window + leeway},
		{"in the future beyond leeway", leeway + time.Second, 0, 0},
		{"exp sooner than the window", 0, time.Minute, time.Minute + leeway},
		{"exp a day away", 0, 24 * time.Hour, window},
		{"old iat, exp a day away", -window - time.Second, 24 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			s := p.strategy(t, stratFile(backchannelOn, tokenStep(authPost), jwtStepJWKS))
			now := p.clock.Now()
			c := jwt.MapClaims{
				"iss": p.URL, "aud": testClientID, "iat": now.Add(tt.iat).Unix(), "jti": "jti-w", "sub": testSub,
				"events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
			}
			if tt.exp != 0 {
				c["exp"] = now.Add(tt.exp).Unix()
			}
			raw := rsaSigner().sign(t, c, func(h map[string]any) { h["typ"] = "logout+jwt" })
			lt, err := s.VerifyLogoutToken(t.Context(), raw)
			if tt.wantUntil == 0 {
				if !errors.Is(err, engine.ErrInvalidToken) {
					t.Fatalf("VerifyLogoutToken = %+v, %v; want ErrInvalidToken", lt, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyLogoutToken: %v", err)
			}
			if want := now.Add(tt.wantUntil); !lt.AcceptableUntil.Equal(want) {
				t.Errorf("AcceptableUntil = %v, want %v", lt.AcceptableUntil, want)
			}
			// Accepted a second before AcceptableUntil, refused a second after.
			p.clock.Advance(lt.AcceptableUntil.Sub(now) - time.Second)
			if _, err := s.VerifyLogoutToken(t.Context(), raw); err != nil {
				t.Errorf("a second before AcceptableUntil: %v, want accepted", err)
			}
			p.clock.Advance(2 * time.Second)
			if _, err := s.VerifyLogoutToken(t.Context(), raw); !errors.Is(err, engine.ErrInvalidToken) {
				t.Errorf("a second after AcceptableUntil: %v, want ErrInvalidToken", err)
			}
		})
	}
}
