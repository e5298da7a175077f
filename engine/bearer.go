package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// This file verifies API clients' access tokens (Authorization: Bearer,
// RFC 6750) for the strategies with a "bearer" key: JWT access tokens
// (RFC 9068) locally, with the keys and issuer of the strategy's jwt step,
// and opaque ones through its introspect step (RFC 7662, introspect.go).
// Verified tokens are kept, by a hash of the token, until they expire
// (bearercache.go).

// BearerToken is an access token VerifyBearer accepted. It is shared by
// every request that presents the same token: read it, never change it.
type BearerToken struct {
	// Strategy is the strategy that vouched for the token.
	Strategy string
	// Subject is its sub (or the strategy's mapped sub), a non-empty string.
	Subject string
	// User is the token's claims (a JWT) or the introspection answer: the
	// user object of a bearer request.
	User json.RawMessage
	// Claims are the strategy's mapped claims, read from User.
	Claims map[string]any
	// Scopes are the token's scope string, split, or its scp array.
	Scopes []string
	// Expiry is the token's exp; zero when an introspection answer had none.
	Expiry time.Time
	// Introspected reports whether the introspect step vouched for the token.
	Introspected bool
	// ID is base64url(SHA-256(token)): it names the token in caches and
	// logs without being it.
	ID string
}

// HasScopes reports whether the token holds every scope of required.
func (t *BearerToken) HasScopes(required []string) bool {
	for _, r := range required {
		if !slices.Contains(t.Scopes, r) {
			return false
		}
	}
	return true
}

// ErrNoBearer: no strategy of the engine takes bearer tokens.
var ErrNoBearer = errors.New("no strategy takes bearer tokens")

// maxBearerLen bounds a bearer token: longer ones are refused unread.
const maxBearerLen = 16 << 10

// bearerStrategy is a strategy's bearer binding.
type bearerStrategy struct {
	s          *Strategy
	issuer     string    // the iss it claims: its jwt step's, else its "issuer" key
	audience   string    // bearer.audience, else the client_id
	jwt        *verifier // nil without a verified jwt decode step
	introspect *step     // nil unless bearer.introspect
	required   []string  // required_scopes
}

// bindBearer binds the strategy's bearer plan: the access-token verifier
// made from its jwt step, and its introspect step.
func (s *Strategy) bindBearer() error {
	bp := s.plan.Bearer()
	if bp == nil {
		return nil
	}
	b := &bearerStrategy{s: s, audience: s.vars["client_id"], issuer: s.vars[strategies.VarIssuer], required: bp.RequiredScopes()}
	if bp.Audience() != nil {
		aud, err := s.fixed(bp.Audience())
		if err != nil {
			return fmt.Errorf("bearer: %w", err)
		}
		b.audience = aud
	}
	if b.audience == "" {
		return errors.New("bearer: the audience (bearer.audience, else client_id) is empty")
	}
	if d := s.plan.JWTStep(); d != nil && d.IsDecode() && !d.InsecureSkipVerify() {
		v, err := s.newVerifier(d, false)
		if err != nil {
			return fmt.Errorf("bearer: step %q: %w", d.Name(), err)
		}
		v.audience, v.accessToken = b.audience, true
		v.parser = jwt.NewParser(
			jwt.WithValidMethods(allowedOnly(d.Algorithms())),
			jwt.WithIssuer(v.issuer),
			jwt.WithAudience(b.audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(s.e.opts.Leeway),
			jwt.WithTimeFunc(s.e.opts.Now),
		)
		b.jwt, b.issuer = v, v.issuer
	}
	if bp.Introspect() {
		p := s.plan.IntrospectStep()
		if p == nil {
			return errors.New("bearer.introspect: no introspect step") // the plan refuses this
		}
		if m := s.leftOut[p.Name()]; m != "" {
			return fmt.Errorf("bearer.introspect: the discovery document at %s names no %s, which the introspect step needs", s.discovery.url, m)
		}
		st, err := s.bindStep(p)
		if err != nil {
			return err
		}
		b.introspect = st
	}
	s.bearer = b
	return nil
}

// bindBearers lists the strategies that take bearer tokens and refuses
// two that claim one issuer: the token's iss picks the strategy.
func (e *Engine) bindBearers() error {
	byIssuer := map[string]string{}
	for _, name := range e.order {
		b := e.byName[name].bearer
		if b == nil {
			continue
		}
		if b.issuer != "" {
			if other, dup := byIssuer[b.issuer]; dup {
				return fmt.Errorf("strategies %q and %q both take bearer tokens of the issuer %s: a token's iss must pick one", other, name, b.issuer)
			}
			byIssuer[b.issuer] = name
		}
		e.bearers = append(e.bearers, b)
		if b.introspect != nil {
			e.introspect = b
		}
	}
	e.bearerHits.max = e.opts.BearerCacheSize
	return nil
}

// TakesBearer reports whether any strategy takes bearer tokens.
func (e *Engine) TakesBearer() bool { return len(e.bearers) > 0 }

// RequiredScopes returns the required_scopes of the strategy of that
// name, nil when it has none.
func (e *Engine) RequiredScopes(strategy string) []string {
	if s := e.byName[strategy]; s != nil && s.bearer != nil {
		return slices.Clone(s.bearer.required)
	}
	return nil
}

// VerifyBearer checks an API client's access token (the value of
// Authorization: Bearer) and returns what it vouches for. A JWT is
// verified by the strategy whose issuer its (unverified) iss names: the
// signature with the keys of that strategy's jwt step and one of its
// algorithms (asymmetric only), iss, aud holding bearer.audience (default
// the client_id), exp (required), nbf, iat not in the future, a typ of
// at+jwt, JWT or none, no nonce or at_hash (an ID token is not an access
// token), and a subject. A token that is not a JWT goes to the strategy
// that introspects (RFC 7662): active must be true, and exp, nbf, iss and
// aud are checked when the answer has them. A token whose iss no strategy
// claims is refused.
//
// A verified token is kept until its exp (an introspection answer for at
// most IntrospectionCacheTTL, a refusal by the introspection endpoint for
// NegativeCacheTTL), so that a token seen again costs a hash and a map
// lookup. Failures of the token wrap ErrInvalidToken; any other error (the
// key set or the introspection endpoint unreachable) is the caller's to
// answer as an outage, not as a bad token.
func (e *Engine) VerifyBearer(ctx context.Context, raw string) (*BearerToken, error) {
	if len(e.bearers) == 0 {
		return nil, invalidToken(ErrNoBearer)
	}
	if raw == "" || len(raw) > maxBearerLen {
		return nil, invalidToken(errors.New("bearer: not a token (empty or too long)"))
	}
	// Hashed in place: []byte(raw) would copy a token of this size to the
	// heap on every check; Sum256 only reads its argument.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
	now := e.opts.Now()
	if t, err, ok := e.bearerHits.get(sum, now); ok {
		return t, err // only well-formed tokens are kept
	}
	if !isToken68(raw) {
		return nil, invalidToken(errors.New("bearer: not a token (RFC 6750 b64token)"))
	}
	// Checks of one token arriving together share one verification, which
	// the first caller's cancellation does not end (each outbound call has
	// its StepTimeout).
	v, _, _ := e.bearerMiss.Do(string(sum[:]), func() (any, error) {
		if t, err, ok := e.bearerHits.get(sum, now); ok {
			return bearerResult{t, err}, nil
		}
		t, err := e.verifyBearer(context.WithoutCancel(ctx), raw, sum, now)
		return bearerResult{t, err}, nil
	})
	res := v.(bearerResult)
	return res.tok, res.err
}

// bearerResult is one verification's outcome, shared by the checks that
// waited for it.
type bearerResult struct {
	tok *BearerToken
	err error
}

// verifyBearer verifies a token the cache does not hold and keeps the
// outcome when it may be kept.
func (e *Engine) verifyBearer(ctx context.Context, raw string, sum [32]byte, now time.Time) (*BearerToken, error) {
	id := base64.RawURLEncoding.EncodeToString(sum[:])
	b, isJWT, err := e.bearerFor(raw)
	if err != nil {
		return nil, err
	}
	var t *BearerToken
	var until time.Time
	if isJWT && b.jwt != nil {
		t, err = b.verifyJWT(ctx, raw)
		if err == nil {
			until = t.Expiry
		}
	} else {
		t, until, err = b.introspectToken(ctx, raw, now)
	}
	if t != nil {
		t.ID = id
	}
	if !until.IsZero() {
		e.bearerHits.put(sum, t, err, until, now)
	}
	return t, err
}

// bearerFor picks the strategy that judges raw: for a JWT, the one whose
// issuer its iss names; for another token, the one that introspects.
func (e *Engine) bearerFor(raw string) (b *bearerStrategy, isJWT bool, err error) {
	iss, isJWT := unverifiedIssuer(raw)
	if !isJWT {
		if e.introspect == nil {
			return nil, false, invalidToken(errors.New("bearer: not a JWT, and no strategy introspects tokens"))
		}
		return e.introspect, false, nil
	}
	for _, b := range e.bearers {
		if b.issuer != "" && b.issuer == iss {
			if b.jwt == nil && b.introspect == nil {
				break
			}
			return b, true, nil
		}
	}
	return nil, true, invalidToken(fmt.Errorf("bearer: no strategy takes tokens of the issuer %.80q", iss))
}

// unverifiedIssuer reports whether raw has the form of a JWS and returns
// its payload's iss, unverified: it only picks the strategy that verifies.
func unverifiedIssuer(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || !gjson.ValidBytes(header) || !gjson.GetBytes(header, "alg").Exists() {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !gjson.ValidBytes(payload) {
		return "", true
	}
	return gjson.GetBytes(payload, "iss").String(), true
}

// isToken68 reports whether s is an RFC 6750 b64token: letters, digits,
// "-._~+/", then "=" padding only.
func isToken68(s string) bool {
	pad := false
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '=':
			pad = true
		case pad:
			return false
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return s[0] != '='
}

// verifyJWT verifies a JWT access token.
func (b *bearerStrategy) verifyJWT(ctx context.Context, raw string) (*BearerToken, error) {
	claims, err := b.jwt.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"nonce", "at_hash"} {
		if _, has := claims[k]; has {
			return nil, invalidToken(fmt.Errorf("bearer: the token has %s: an ID token, not an access token", k))
		}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, invalidToken(fmt.Errorf("%w: exp", jwt.ErrTokenRequiredClaimMissing))
	}
	doc, err := json.Marshal(claims)
	if err != nil {
		return nil, invalidToken(err)
	}
	t, err := b.token(doc)
	if err != nil {
		return nil, err
	}
	t.Expiry = exp.Time
	return t, nil
}

// token makes the BearerToken of a verified user object: the mapped
// claims, the subject, the scopes.
func (b *bearerStrategy) token(doc []byte) (*BearerToken, error) {
	s := b.s
	res := &Result{Strategy: s.Name(), User: doc, Claims: s.mapClaims(doc, nil)}
	sub, err := s.subject(res)
	if err != nil {
		return nil, invalidToken(fmt.Errorf("bearer: %w", err))
	}
	return &BearerToken{Strategy: s.Name(), Subject: sub, User: doc, Claims: res.Claims, Scopes: scopesOf(doc)}, nil
}

// scopesOf reads a token's scopes: its scope string (RFC 9068 §2.2.3,
// RFC 7662 §2.2), else its scp, an array of strings or a string.
func scopesOf(doc []byte) []string {
	if v := gjson.GetBytes(doc, "scope"); v.Type == gjson.String {
		return strings.Fields(v.Str)
	}
	v := gjson.GetBytes(doc, "scp")
	if v.Type == gjson.String {
		return strings.Fields(v.Str)
	}
	var out []string
	if v.IsArray() {
		for _, e := range v.Array() {
			if e.Type == gjson.String && e.Str != "" {
				out = append(out, e.Str)
			}
		}
	}
	return out
}

// isAccessTokenType reports whether a typ header names a JWT access token:
// "at+jwt" or "application/at+jwt", in any case (RFC 9068 §2.1).
func isAccessTokenType(typ gjson.Result) bool {
	if typ.Type != gjson.String {
		return false
	}
	return strings.TrimPrefix(strings.ToLower(typ.Str), "application/") == "at+jwt"
}
