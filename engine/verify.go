package engine

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// verifier checks a JWT for one decode step: a sound JOSE header and
// payload (see checkSegments), signature with the IdP's keys, an allowed
// asymmetric algorithm, iss, aud, exp (required), nbf and iat with leeway,
// and for ID tokens a sub and an iat. The nonce is checked by the caller,
// which knows the login.
type verifier struct {
	keys     *keySet
	issuer   string
	audience string
	parser   *jwt.Parser
	idToken  bool // the ID token rules: typ JWT or none, exp, iat and sub required
	// tenantIssuer is a multi-tenant issuer template (issuer holds
	// strategies.TenantPlaceholder): iss must be it with the token's tid
	// put in; tenants, when not empty, lists the tids accepted.
	tenantIssuer bool
	tenants      []string
	// accessToken: the access token rules (bearer.go): typ at+jwt, JWT
	// or none.
	accessToken bool
}

// maxTimeClaim bounds exp, nbf and iat, in seconds either side of 1970.
// jwt/v5 turns a time claim into seconds with int64(float64), which wraps
// beyond ±2^63, and time.Unix adds an epoch offset that overflows close to
// 2^63: either way a far-future nbf (1e300) lands in the past and passes.
// 2^62 seconds (some 146 billion years) fits a 64-bit second count with
// room for both.
const maxTimeClaim = 1 << 62

// newVerifier builds the verifier of decode step d. With idToken, the
// token must be an ID token (OpenID Connect Core §2): exp, iat and a
// string sub present, and a typ header, when there is one, of JWT. Without
// it, for back-channel logout tokens, exp is optional (earlier drafts of
// that spec had none), typ is free (logout+jwt) and the caller checks the
// rest.
func (s *Strategy) newVerifier(d *strategies.StepPlan, idToken bool) (*verifier, error) {
	issuer, err := s.fixed(d.Issuer())
	if err != nil {
		return nil, err
	}
	jwksURI, err := s.fixed(d.JWKSURI())
	if err != nil {
		return nil, err
	}
	aud := s.vars["client_id"]
	if d.Audience() != nil {
		if aud, err = s.fixed(d.Audience()); err != nil {
			return nil, err
		}
	}
	if issuer == "" {
		return nil, fmt.Errorf("issuer: required to verify the token")
	}
	algs := allowedOnly(d.Algorithms())
	if len(algs) == 0 {
		return nil, fmt.Errorf("algorithms: none of %v may verify a token", d.Algorithms())
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithAudience(aud),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.e.opts.Leeway),
		jwt.WithTimeFunc(s.e.opts.Now),
	}
	tenantIssuer := strategies.IsTenantIssuer(issuer)
	var tenants []string
	if tenantIssuer {
		if jwksURI == "" {
			return nil, fmt.Errorf("jwks_uri: required with a multi-tenant issuer")
		}
		list, err := s.fixed(s.plan.AllowedTenants())
		if err != nil {
			return nil, err
		}
		tenants = strategies.SplitTenants(list)
		if s.plan.AllowedTenants() != nil && len(tenants) == 0 {
			return nil, fmt.Errorf("%s: empty with its variables set: list tenant IDs, or remove the key to accept every tenant", strategies.KeyAllowedTenants)
		}
	} else {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	if idToken {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	return &verifier{
		keys:         s.e.keySetFor(jwksURI, issuer),
		issuer:       issuer,
		audience:     aud,
		parser:       jwt.NewParser(opts...),
		idToken:      idToken,
		tenantIssuer: tenantIssuer,
		tenants:      tenants,
	}, nil
}

// checkTenant checks a multi-tenant issuer's token: its tid is a tenant
// ID (letters, digits, '-', '.', '_'), its iss is the issuer template with
// that tid in place of {tenantid}, exactly, and allowed_tenants, when set,
// lists the tid.
func (v *verifier) checkTenant(claims jwt.MapClaims) error {
	tid, _ := claims["tid"].(string)
	if !isTenantID(tid) {
		return fmt.Errorf("%w: tid: a multi-tenant issuer's token must name its tenant", jwt.ErrTokenRequiredClaimMissing)
	}
	want := strings.Replace(v.issuer, strategies.TenantPlaceholder, tid, 1)
	if iss, _ := claims["iss"].(string); iss != want {
		return fmt.Errorf("%w: iss %.120q is not the issuer of the token's tenant %q (want %q)", jwt.ErrTokenInvalidIssuer, iss, tid, want)
	}
	if len(v.tenants) > 0 && !slices.Contains(v.tenants, tid) {
		return fmt.Errorf("%w: %q is not in allowed_tenants", ErrTenantNotAllowed, tid)
	}
	return nil
}

// isTenantID reports whether tid may be a tenant ID: 1 to 64 letters,
// digits, '-', '.' or '_' (Entra's are GUIDs). Nothing that could change
// the shape of the issuer it is put into.
func isTenantID(tid string) bool {
	if tid == "" || len(tid) > 64 {
		return false
	}
	for _, c := range tid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return tid != "." && tid != ".."
}

// allowedOnly returns the algorithms of algs that strategies allows: the
// plan lists no others, and a verifier never trusts a list it did not
// check.
func allowedOnly(algs []string) []string {
	allowed := strategies.AllowedAlgorithms()
	var out []string
	for _, a := range algs {
		if slices.Contains(allowed, a) {
			out = append(out, a)
		}
	}
	return out
}

// verify checks raw and returns its claims.
func (v *verifier) verify(ctx context.Context, raw string) (jwt.MapClaims, error) {
	if err := v.checkSegments(raw); err != nil {
		return nil, invalidToken(err)
	}
	kf, err := v.keys.keyfunc(ctx)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(raw, claims, kf); err != nil {
		return nil, invalidToken(err)
	}
	if v.tenantIssuer {
		if err := v.checkTenant(claims); err != nil {
			return nil, invalidToken(err)
		}
	}
	if v.idToken {
		if err := checkIDTokenClaims(claims); err != nil {
			return nil, invalidToken(err)
		}
	}
	return claims, nil
}

// checkSegments refuses, before any key is fetched, what jwt/v5 lets pass:
// a header or payload with two readings (a key twice, see oneReading); a
// crit header, as no extension is understood here (RFC 7515 §4.1.11); for
// ID tokens a typ other than JWT (at+jwt and logout+jwt are other kinds of
// token, RFC 9068 and OIDC Back-Channel Logout §2.4); and a time claim
// beyond maxTimeClaim.
func (v *verifier) checkSegments(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: %d segments, want 3", jwt.ErrTokenMalformed, len(parts))
	}
	header, err := decodeSegment("header", parts[0])
	if err != nil {
		return err
	}
	payload, err := decodeSegment("payload", parts[1])
	if err != nil {
		return err
	}
	h := gjson.ParseBytes(header)
	if h.Get("crit").Exists() {
		return fmt.Errorf("%w: header has crit, and no extension is understood (RFC 7515 §4.1.11)", jwt.ErrTokenUnverifiable)
	}
	if typ := h.Get("typ"); v.idToken && typ.Exists() && !isJWTType(typ) {
		return fmt.Errorf("%w: header typ %.40s: not an ID token (want JWT)", jwt.ErrTokenMalformed, typ.Raw)
	}
	if typ := h.Get("typ"); v.accessToken && typ.Exists() && !isJWTType(typ) && !isAccessTokenType(typ) {
		return fmt.Errorf("%w: header typ %.40s: not an access token (want at+jwt, JWT or none)", jwt.ErrTokenMalformed, typ.Raw)
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if c := gjson.GetBytes(payload, name); c.Type == gjson.Number && !(math.Abs(c.Num) <= maxTimeClaim) {
			return fmt.Errorf("%w: %s does not fit a 64-bit second count", jwt.ErrTokenInvalidClaims, name)
		}
	}
	return nil
}

// decodeSegment decodes a JWT's header or payload: base64url without
// padding (as jwt/v5 reads it) of a JSON object with one reading.
func decodeSegment(what, seg string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64url", jwt.ErrTokenMalformed, what)
	}
	if !gjson.ValidBytes(b) || !gjson.ParseBytes(b).IsObject() {
		return nil, fmt.Errorf("%w: %s is not a JSON object", jwt.ErrTokenMalformed, what)
	}
	if err := oneReading(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", jwt.ErrTokenMalformed, what, err)
	}
	return b, nil
}

// isJWTType reports whether a typ header names a JWT: "JWT" or its media
// type "application/jwt", in any case (RFC 7519 §5.1, RFC 7515 §4.1.9).
func isJWTType(typ gjson.Result) bool {
	if typ.Type != gjson.String {
		return false
	}
	t := strings.TrimPrefix(strings.ToLower(typ.Str), "application/")
	return t == "jwt"
}

// checkIDTokenClaims requires what jwt/v5 leaves optional but an ID token
// must carry (OpenID Connect Core §2): iat, and sub, a non-empty string.
func checkIDTokenClaims(claims jwt.MapClaims) error {
	if iat, err := claims.GetIssuedAt(); err != nil || iat == nil {
		return fmt.Errorf("%w: iat", jwt.ErrTokenRequiredClaimMissing)
	}
	switch sub := claims["sub"].(type) {
	case nil:
		return fmt.Errorf("%w: sub", jwt.ErrTokenRequiredClaimMissing)
	case string:
		if sub == "" {
			return fmt.Errorf("%w: sub is empty", jwt.ErrTokenRequiredClaimMissing)
		}
		return nil
	default:
		return fmt.Errorf("%w: sub is not a string", jwt.ErrTokenInvalidClaims)
	}
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
