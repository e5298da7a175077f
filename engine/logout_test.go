package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// TestVerifyLogoutToken checks every rule of OpenID Connect Back-Channel
// Logout 1.0 §2.6 on hand-made logout tokens.
func TestVerifyLogoutToken(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile(`"backchannel_logout": true`, tokenStep(authPost), jwtStepJWKS))
	now := p.clock.Now()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{
			"iss": p.URL, "aud": testClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
			"jti": "jti-1", "sub": "user-1", "sid": "sid-1",
			"events": map[string]any{engine.BackchannelLogoutEvent: map[string]any{}},
		}
	}
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := valid()
		change(c)
		return c
	}
	tests := []struct {
		name   string
		signer signer
		claims jwt.MapClaims
		header func(map[string]any)
		want   *engine.LogoutToken // nil: refused
	}{
		{"valid, sid and sub", rsaSigner(), valid(), nil,
			&engine.LogoutToken{Subject: "user-1", SessionID: "sid-1", ID: "jti-1"}},
		{"valid, sid only", rsaSigner(), with(func(c jwt.MapClaims) { delete(c, "sub") }), nil,
			&engine.LogoutToken{SessionID: "sid-1", ID: "jti-1"}},
		{"valid, sub only, no exp (earlier drafts)", rsaSigner(), with(func(c jwt.MapClaims) { delete(c, "sid"); delete(c, "exp") }), nil,
			&engine.LogoutToken{Subject: "user-1", ID: "jti-1"}},
		{"valid, typ logout+jwt", rsaSigner(), valid(), func(h map[string]any) { h["typ"] = "logout+jwt" },
			&engine.LogoutToken{Subject: "user-1", SessionID: "sid-1", ID: "jti-1"}},
		{"bad signature (a key the IdP never published)", otherRSASigner("rsa1"), valid(), nil, nil},
		{"alg none", signer{method: jwt.SigningMethodNone}, valid(), nil, nil},
		{"wrong audience", rsaSigner(), with(func(c jwt.MapClaims) { c["aud"] = "another-client" }), nil, nil},
		{"wrong issuer", rsaSigner(), with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), nil, nil},
		{"no events claim", rsaSigner(), with(func(c jwt.MapClaims) { delete(c, "events") }), nil, nil},
		{"events without the back-channel event", rsaSigner(), with(func(c jwt.MapClaims) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}), nil, nil},
		{"back-channel event not an object", rsaSigner(), with(func(c jwt.MapClaims) {
			c["events"] = map[string]any{engine.BackchannelLogoutEvent: true}
		}), nil, nil},
		{"nonce present", rsaSigner(), with(func(c jwt.MapClaims) { c["nonce"] = "n" }), nil, nil},
		{"neither sub nor sid", rsaSigner(), with(func(c jwt.MapClaims) { delete(c, "sub"); delete(c, "sid") }), nil, nil},
		{"no jti", rsaSigner(), with(func(c jwt.MapClaims) { delete(c, "jti") }), nil, nil},
		{"no iat", rsaSigner(), with(func(c jwt.MapClaims) { delete(c, "iat") }), nil, nil},
		{"iat in the future", rsaSigner(), with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }), nil, nil},
		{"expired", rsaSigner(), with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw string
			if tc.signer.method == jwt.SigningMethodNone {
				tok := jwt.NewWithClaims(jwt.SigningMethodNone, tc.claims)
				raw, _ = tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			} else {
				raw = tc.signer.sign(t, tc.claims, tc.header)
			}
			got, err := s.VerifyLogoutToken(t.Context(), raw)
			if tc.want == nil {
				if err == nil || !errors.Is(err, engine.ErrInvalidToken) {
					t.Fatalf("VerifyLogoutToken = %+v, %v; want an ErrInvalidToken", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyLogoutToken: %v", err)
			}
			if got.Subject != tc.want.Subject || got.SessionID != tc.want.SessionID || got.ID != tc.want.ID || got.IssuedAt.Unix() != now.Unix() {
				t.Errorf("VerifyLogoutToken = %+v, want %+v (iat %v)", got, tc.want, now)
			}
		})
	}
}

// TestVerifyLogoutTokenDisabled: without "backchannel_logout": true there
// is nothing to verify with.
func TestVerifyLogoutTokenDisabled(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS))
	if s.BackchannelLogout() {
		t.Error("BackchannelLogout() = true without the key")
	}
	if _, err := s.VerifyLogoutToken(t.Context(), "x.y.z"); !errors.Is(err, engine.ErrNoBackchannelLogout) {
		t.Errorf("err = %v, want ErrNoBackchannelLogout", err)
	}
}
