package engine

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// verifier checks a JWT for one decode step: signature with the IdP's keys,
// an allowed asymmetric algorithm, iss, aud, exp (required), nbf and iat with
// leeway. The nonce is checked by the caller, which knows the login.
type verifier struct {
	keys     *keySet
	issuer   string
	audience string
	parser   *jwt.Parser
}

// newVerifier builds the verifier of decode step d. ID tokens must carry
// exp; back-channel logout tokens (requireExp false) may lack it, as
// earlier drafts of that spec had none.
func (s *Strategy) newVerifier(d strategies.Step, requireExp bool) (*verifier, error) {
	issuer, err := s.fixed("issuer", d.Issuer)
	if err != nil {
		return nil, err
	}
	jwksURI, err := s.fixed("jwks_uri", d.JWKSURI)
	if err != nil {
		return nil, err
	}
	aud := s.vars["client_id"]
	if d.Audience != "" {
		if aud, err = s.fixed("audience", d.Audience); err != nil {
			return nil, err
		}
	}
	if issuer == "" {
		return nil, fmt.Errorf("issuer: required to verify the token")
	}
	algs := d.Algorithms
	if len(algs) == 0 {
		algs = strategies.DefaultAlgorithms
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(aud),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.e.opts.Leeway),
		jwt.WithTimeFunc(s.e.opts.Now),
	}
	if requireExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	return &verifier{
		keys:     s.e.keySetFor(jwksURI, issuer),
		issuer:   issuer,
		audience: aud,
		parser:   jwt.NewParser(opts...),
	}, nil
}

// verify checks raw and returns its claims.
func (v *verifier) verify(ctx context.Context, raw string) (jwt.MapClaims, error) {
	kf, err := v.keys.keyfunc(ctx)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(raw, claims, kf); err != nil {
		return nil, invalidToken(err)
	}
	return claims, nil
}

// checkNonce compares the token's nonce with the one the login sent, in
// constant time.
func checkNonce(claims jwt.MapClaims, want string) error {
	got, _ := claims["nonce"].(string)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return invalidToken(ErrNonceMismatch)
	}
	return nil
}

// decodeUnverified parses a JWT without any check, for "verify": false.
func decodeUnverified(raw string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return nil, invalidToken(err)
	}
	return claims, nil
}
