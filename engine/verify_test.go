package engine_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// rsaPublicPEM is the IdP's RSA public key as PEM: what an attacker uses as
// the HMAC secret in the algorithm-confusion attack.
func rsaPublicPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&testKeyMaterial().rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// setClaim returns a claimsHook that sets (or, with a nil value, deletes)
// one claim.
func setClaim(name string, v any) func(*idpConfig) {
	return func(c *idpConfig) {
		c.claimsHook = func(cl jwt.MapClaims) {
			if v == nil {
				delete(cl, name)
				return
			}
			cl[name] = v
		}
	}
}

// TestIDTokenVerification runs a login per ID token defect; each must fail
// the jwt step with ErrInvalidToken and its specific cause, and stop the
// login before userinfo. The last rows are tokens that must pass.
func TestIDTokenVerification(t *testing.T) {
	t.Parallel()
	now := t0
	unix := func(d time.Duration) int64 { return now.Add(d).Unix() }
	es256Only := `{"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "{{IDP}}/jwks", "issuer": "{{IDP}}", "algorithms": ["ES256"]}`
	withAudience := `{"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "{{IDP}}/jwks", "issuer": "{{IDP}}", "audience": "api://acme"}`

	tests := []struct {
		name   string
		change func(*idpConfig)
		step   string        // the jwt step; default jwtStepJWKS
		leeway time.Duration // Options.Leeway; 0: the default, 30s
		causes []error       // besides ErrInvalidToken; nil: the token is valid
	}{
		{name: "signed by another key under the same kid",
			change: func(c *idpConfig) { c.signWith = otherRSASigner("rsa1") },
			causes: []error{jwt.ErrTokenSignatureInvalid}},
		{name: "alg none",
			change: func(c *idpConfig) {
				c.rawIDToken = func(cl jwt.MapClaims) string {
					tok := jwt.NewWithClaims(jwt.SigningMethodNone, cl)
					tok.Header["kid"] = "rsa1"
					s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
					if err != nil {
						panic(err)
					}
					return s
				}
			},
			causes: []error{jwt.ErrTokenSignatureInvalid}},
		{name: "HS256 keyed with the RSA public key (algorithm confusion)",
			change: func(c *idpConfig) {
				key := rsaPublicPEM(t)
				c.rawIDToken = func(cl jwt.MapClaims) string {
					tok := jwt.NewWithClaims(jwt.SigningMethodHS256, cl)
					tok.Header["kid"] = "rsa1"
					s, err := tok.SignedString(key)
					if err != nil {
						panic(err)
					}
					return s
				}
			},
			causes: []error{jwt.ErrTokenSignatureInvalid}},
		{name: "wrong iss", change: setClaim("iss", "https://evil.example"), causes: []error{jwt.ErrTokenInvalidIssuer}},
		{name: "missing iss", change: setClaim("iss", nil), causes: []error{jwt.ErrTokenRequiredClaimMissing}},
		{name: "wrong aud", change: setClaim("aud", "another-client"), causes: []error{jwt.ErrTokenInvalidAudience}},
		{name: "aud array without the client", change: setClaim("aud", []string{"a", "b"}), causes: []error{jwt.ErrTokenInvalidAudience}},
		{name: "missing aud", change: setClaim("aud", nil), causes: []error{jwt.ErrTokenRequiredClaimMissing}},
		{name: "expired beyond leeway", change: setClaim("exp", unix(-31*time.Second)), causes: []error{jwt.ErrTokenExpired}},
		{name: "expired beyond a 5s leeway", change: setClaim("exp", unix(-10*time.Second)), leeway: 5 * time.Second,
			causes: []error{jwt.ErrTokenExpired}},
		{name: "missing exp", change: setClaim("exp", nil), causes: []error{jwt.ErrTokenRequiredClaimMissing}},
		{name: "nbf in the future beyond leeway", change: setClaim("nbf", unix(31*time.Second)), causes: []error{jwt.ErrTokenNotValidYet}},
		{name: "iat in the future beyond leeway", change: setClaim("iat", unix(31*time.Second)), causes: []error{jwt.ErrTokenUsedBeforeIssued}},
		{name: "nonce missing", change: setClaim("nonce", nil), causes: []error{engine.ErrNonceMismatch}},
		{name: "nonce wrong", change: setClaim("nonce", "another-logins-nonce"), causes: []error{engine.ErrNonceMismatch}},
		{name: "nonce not a string", change: setClaim("nonce", 42), causes: []error{engine.ErrNonceMismatch}},
		{name: "RS256 when the step allows only ES256", step: es256Only, causes: []error{jwt.ErrTokenSignatureInvalid}},
		{name: "RS384 is not in the default list",
			change: func(c *idpConfig) {
				c.signWith = signer{kid: "rsa1", method: jwt.SigningMethodRS384, key: testKeyMaterial().rsa}
			},
			causes: []error{jwt.ErrTokenSignatureInvalid}},
		{name: "unknown kid", change: func(c *idpConfig) { c.headerHook = func(h map[string]any) { h["kid"] = "nope" } },
			causes: []error{jwt.ErrTokenUnverifiable}},
		{name: "EC kid on an RSA signature",
			change: func(c *idpConfig) {
				c.signWith = signer{kid: "ec1", method: jwt.SigningMethodRS256, key: testKeyMaterial().rsa}
			},
			causes: []error{jwt.ErrTokenUnverifiable}},
		{name: "not a JWT", change: func(c *idpConfig) { c.rawIDToken = func(jwt.MapClaims) string { return "not-a-jwt" } },
			causes: []error{jwt.ErrTokenMalformed}},

		{name: "audience set: a token for the client is refused", step: withAudience, causes: []error{jwt.ErrTokenInvalidAudience}},

		// Valid tokens.
		{name: "exp just inside leeway", change: setClaim("exp", unix(-29*time.Second))},
		{name: "nbf just inside leeway", change: setClaim("nbf", unix(29*time.Second))},
		{name: "iat just inside leeway", change: setClaim("iat", unix(29*time.Second))},
		{name: "aud array holding the client", change: setClaim("aud", []string{"another-client", testClientID})},
		{name: "no kid: the published keys are tried", change: func(c *idpConfig) {
			c.headerHook = func(h map[string]any) { delete(h, "kid") }
		}},
		{name: "audience set: a token for it passes", step: withAudience, change: setClaim("aud", "api://acme")},
		{name: "ES256 only and an ES256 token", step: es256Only, change: func(c *idpConfig) { c.signWith = ecSigner() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			if tt.change != nil {
				p.update(tt.change)
			}
			step := tt.step
			if step == "" {
				step = jwtStepJWKS
			}
			s := p.strategy(t, stratFile("", tokenStep(authPost), step, userinfoStep), func(o *engine.Options) { o.Leeway = tt.leeway })
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)

			if tt.causes == nil {
				if err != nil {
					t.Fatalf("valid token refused: %v", err)
				}
				var user struct{ Sub, Nonce string }
				if err := json.Unmarshal(res.User, &user); err != nil || user.Sub != testSub || user.Nonce != l.Nonce {
					t.Errorf("User = %s, want sub %q and the login's nonce", res.User, testSub)
				}
				return
			}
			if err == nil {
				t.Fatalf("defective token accepted: user %s", res.User)
			}
			wantStep(t, err, "jwt")
			for _, want := range append([]error{engine.ErrInvalidToken}, tt.causes...) {
				if !errors.Is(err, want) {
					t.Errorf("err = %v; want it to match %q", err, want)
				}
			}
			if n := p.userinfoHits.Load(); n != 0 {
				t.Errorf("userinfo called %d times after a bad ID token", n)
			}
		})
	}
}

// TestDecodeUnverified: "verify": false (debugging only) takes the claims
// without any check.
func TestDecodeUnverified(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.update(func(c *idpConfig) { c.signWith = otherRSASigner("unpublished") })
	s := p.strategy(t, stratFile("", tokenStep(authPost), `{"name": "jwt", "decode": "${token.id_token}", "verify": false}`))
	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if res.Subject() != testSub {
		t.Errorf("Subject() = %q, want %q", res.Subject(), testSub)
	}
	if n := p.jwksHits.Load() + p.discoveryHits.Load(); n != 0 {
		t.Errorf("an unverified decode fetched keys (%d requests)", n)
	}
}

// TestDecodeUnverifiedMalformed: even unverified, a value that is not a JWT
// fails with ErrInvalidToken.
func TestDecodeUnverifiedMalformed(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.update(func(c *idpConfig) { c.rawIDToken = func(jwt.MapClaims) string { return "a.b" } })
	s := p.strategy(t, stratFile("", tokenStep(authPost), `{"name": "jwt", "decode": "${token.id_token}", "verify": false}`))
	l, cb := p.begin(t, s)
	_, err := s.Exchange(t.Context(), l, cb)
	if !errors.Is(err, engine.ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenMalformed) {
		t.Fatalf("err = %v, want ErrInvalidToken and jwt.ErrTokenMalformed", err)
	}
	wantStep(t, err, "jwt")
}

// TestNonceOnOtherTokens: a decoded token other than the user step's need
// not carry the nonce, but one that carries it must carry this login's.
func TestNonceOnOtherTokens(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		nonce any // the JWT access token's nonce; nil: none
		ok    bool
	}{{"no nonce", nil, true}, {"this login's nonce", "", true}, {"another nonce", "other", false}} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			var nonce string // set once the login exists
			p.update(func(c *idpConfig) {
				c.tokenHook = func(a map[string]any) {
					cl := jwt.MapClaims{"iss": p.URL, "aud": testClientID, "sub": testSub, "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix()}
					switch {
					case tt.nonce == "":
						cl["nonce"] = nonce
					case tt.nonce != nil:
						cl["nonce"] = tt.nonce
					}
					a["access_token"] = rsaSigner().sign(t, cl, nil)
				}
			})
			s := p.strategy(t, stratFile("", tokenStep(authPost),
				`{"name": "at", "decode": "${token.access_token}", "jwks_uri": "{{IDP}}/jwks", "issuer": "{{IDP}}"}`,
				jwtStepJWKS))
			l, cb := p.begin(t, s)
			nonce = l.Nonce
			_, err := s.Exchange(t.Context(), l, cb)
			if tt.ok {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				return
			}
			if !errors.Is(err, engine.ErrNonceMismatch) || !errors.Is(err, engine.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken and ErrNonceMismatch", err)
			}
			wantStep(t, err, "at")
		})
	}
}

// TestAlgorithmsNotRevalidated: a loaded definition changed afterwards to
// list "HS256" or "none" in a decode step changes nothing: the plan keeps
// the list it checked, and such tokens are refused (the keys are public
// keys; the verifier trusts no algorithm strategies does not allow:
// TestAllowedOnly).
func TestAlgorithmsNotRevalidated(t *testing.T) {
	t.Parallel()
	pemKey := rsaPublicPEM(t)
	tests := []struct {
		name string
		algs []string
		make func(jwt.MapClaims) string
	}{
		{"HS256 keyed with the RSA public key, kid rsa1", []string{"HS256", "RS256"}, func(cl jwt.MapClaims) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, cl)
			tok.Header["kid"] = "rsa1"
			s, _ := tok.SignedString(pemKey)
			return s
		}},
		{"HS256 without kid", []string{"HS256"}, func(cl jwt.MapClaims) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, cl).SignedString(pemKey)
			return s
		}},
		{"none", []string{"none"}, func(cl jwt.MapClaims) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, cl).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.update(func(c *idpConfig) { c.rawIDToken = tt.make })
			set := parseFile(t, p.URL, stratFile("", tokenStep(authPost), jwtStepJWKS))
			set.Lookup(testStrategy).Step("jwt").Algorithms = tt.algs
			e := newEngine(t, set, p.options())
			s := e.Strategy(testStrategy)
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if !errors.Is(err, engine.ErrInvalidToken) {
				t.Fatalf("Exchange = %+v, %v; want ErrInvalidToken", res, err)
			}
			wantStep(t, err, "jwt")
		})
	}
}
