package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authflow/authflow/internal/jwk"
	"github.com/golang-jwt/jwt/v5"
)

// UpstreamJWT configures the identity authflow signs for the services
// behind it (docs/api-tokens.md): with Enabled, a 200 from /auth/verify carries
// X-Auth-Token, a JWT naming the user, GET /auth/token hands the same JWT
// to the browser app, and GET /.well-known/jwks.json publishes the key
// that verifies it.
type UpstreamJWT struct {
	// Enabled turns the upstream JWT on. Default false.
	Enabled bool
	// Key signs the tokens: EC P-256 (ES256), Ed25519 (EdDSA) or RSA of
	// at least 2048 bits (RS256); any crypto.Signer, so a KMS or HSM key
	// works too. ParseSigningKey reads one from PEM. Every instance of a
	// deployment must share it. Default: an ephemeral P-256 key made by
	// New, which no other instance (nor this one after a restart) shares.
	Key crypto.Signer
	// TTL is the most a token lives; it never outlives its session.
	// Default 15m.
	TTL time.Duration
	// Audience is the tokens' aud. Default Config.BaseURI.
	Audience string
	// CacheSize bounds the signed tokens kept for reuse (one per session,
	// reused while more than half of its life remains). Default 10000.
	CacheSize int
}

func (u *UpstreamJWT) setDefaults(baseURI string) error {
	if u.TTL < 0 {
		return fmt.Errorf("server: UpstreamJWT.TTL %s is negative", u.TTL)
	}
	if u.TTL == 0 {
		u.TTL = 15 * time.Minute
	}
	if u.TTL < time.Second {
		return fmt.Errorf("server: UpstreamJWT.TTL %s: want at least 1s (JWT times are whole seconds)", u.TTL)
	}
	if u.Audience == "" {
		u.Audience = baseURI
	}
	if u.CacheSize <= 0 {
		u.CacheSize = 10000
	}
	return nil
}

// upstreamSigner signs a session's upstream JWTs and keeps them for
// reuse.
type upstreamSigner struct {
	key      crypto.Signer
	method   *signerMethod
	kid      string
	jwk      []byte         // the public key, as published (a JWK)
	keys     *publishedKeys // the JWK Set: this key and the others lately in use (publishedkeys.go)
	iss, aud string
	ttl      time.Duration
	idle     time.Duration // Config.IdleTimeout
	now      func() time.Time
	cache    tokenCache
	// extra returns the upstream_claims of a session's strategy, read from
	// its user object; nil: none.
	extra func(rec *record) (map[string]any, error)
}

// newUpstreamSigner returns the signer cfg (defaults applied) describes,
// making an ephemeral P-256 key when it has none; ephemeral reports that.
func newUpstreamSigner(cfg *Config) (u *upstreamSigner, ephemeral bool, err error) {
	o := &cfg.UpstreamJWT
	if o.Key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, false, fmt.Errorf("server: upstream JWT key: %w", err)
		}
		o.Key, ephemeral = k, true
	}
	method, err := signingMethodFor(o.Key.Public())
	if err != nil {
		return nil, false, err
	}
	kid, err := jwk.Thumbprint(o.Key.Public()) // RFC 7638
	if err != nil {
		return nil, false, fmt.Errorf("server: upstream JWT key: thumbprint: %w", err)
	}
	key, err := jwk.Marshal(o.Key.Public(), kid, method.alg)
	if err != nil {
		return nil, false, fmt.Errorf("server: upstream JWT key: JWK: %w", err)
	}
	return &upstreamSigner{
		key: o.Key, method: method, kid: kid, jwk: key,
		iss: cfg.BaseURI, aud: o.Audience, ttl: o.TTL, idle: cfg.IdleTimeout, now: cfg.Now,
		cache: tokenCache{max: o.CacheSize},
	}, ephemeral, nil
}

// upstreamToken is a signed JWT and what decides its reuse.
type upstreamToken struct {
	hdr        []string  // {JWT}: shared, read-only, as the X-Auth-Token value
	expires    time.Time // exp
	reuseUntil time.Time // iat + half its life
	ident      [4]string // identity.vals of the session it names
}

// jwt returns the token.
func (t *upstreamToken) jwt() string { return t.hdr[0] }

// forSession returns the upstream JWT of rec, a live session just read
// from the Store: the one signed earlier while more than half of its life
// remains, else a new one. The cache is keyed by record id, a session's
// for its whole life and never another's, and is only consulted after the
// record was read: an ended session's token is never served.
func (u *upstreamSigner) forSession(rec *record) (*upstreamToken, error) {
	now := u.now()
	if t := u.cache.get(rec.ID, rec.ident, now); t != nil {
		return t, nil
	}
	end := rec.Expires
	if u.idle > 0 {
		// Unused from now on, the session ends at LastSeen + idle timeout.
		end = minTime(end, rec.LastSeen.Add(u.idle))
	}
	var extra map[string]any
	if u.extra != nil {
		var err error
		if extra, err = u.extra(rec); err != nil {
			return nil, err
		}
	}
	t, err := u.sign(subjectClaims{
		sub:      rec.Subject,
		email:    rec.ident.emailAddr(),
		groups:   rec.ident.groupList(),
		strategy: rec.Strategy,
		sid:      rec.sid(),
		extra:    extra,
	}, now, end)
	if err != nil {
		return nil, err
	}
	t.ident = rec.ident.vals
	u.cache.put(rec.ID, t, now)
	return t, nil
}

// subjectClaims are the identity claims of an upstream JWT. A bearer
// request signs its own with sid empty, ending at the bearer token's exp,
// cached by the bearer token's hash rather than by session (bearer.go);
// the strategy's upstream_claims (gjson paths into the user object) join
// them in extra.
type subjectClaims struct {
	sub, email, strategy, sid string
	groups                    []string
	extra                     map[string]any // upstream_claims; never overrides the above
}

// sign signs a new token for c at now, expiring after the TTL or at end,
// whichever comes first.
func (u *upstreamSigner) sign(c subjectClaims, now, end time.Time) (*upstreamToken, error) {
	// JWT times are whole seconds: iat rounded down, and exp computed from
	// it and rounded down too, so that exp ≤ iat + ttl and exp ≤ end.
	iat := now.Truncate(time.Second)
	exp := minTime(iat.Add(u.ttl), end).Truncate(time.Second)
	if !exp.After(now) {
		return nil, errSessionEnding
	}
	groups := c.groups
	if groups == nil {
		groups = []string{}
	}
	claims := jwt.MapClaims{}
	for k, v := range c.extra {
		claims[k] = v
	}
	claims["iss"] = u.iss
	claims["aud"] = u.aud
	claims["sub"] = c.sub
	claims["strategy"] = c.strategy
	claims["groups"] = groups
	claims["iat"] = iat.Unix()
	claims["exp"] = exp.Unix()
	claims["jti"] = newID()[:22] // 128 random bits
	if c.email != "" {
		claims["email"] = c.email
	}
	if c.sid != "" {
		claims["sid"] = c.sid
	}
	if u.keys != nil {
		u.keys.touch() // this key is in use: keep it published
	}
	tok := jwt.NewWithClaims(u.method, claims)
	tok.Header["kid"] = u.kid
	s, err := tok.SignedString(u.key)
	if err != nil {
		return nil, fmt.Errorf("server: upstream JWT: %w", err)
	}
	return &upstreamToken{hdr: []string{s}, expires: exp, reuseUntil: iat.Add(exp.Sub(iat) / 2)}, nil
}

// errSessionEnding: the session ends within the second, too soon for a
// token that would still be valid.
var errSessionEnding = errors.New("server: upstream JWT: the session ends within a second")

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// tokenCache keeps one upstream token per session id, about max of them
// at most. Reads take no lock (sync.Map: the hot path of /auth/verify
// shares nothing written); a put past max sweeps.
type tokenCache struct {
	m     sync.Map // session id → *upstreamToken
	n     atomic.Int64
	max   int
	sweep sync.Mutex
}

// get returns the token of id while it may be reused at now and names
// ident, or nil.
func (c *tokenCache) get(id string, ident *identity, now time.Time) *upstreamToken {
	v, ok := c.m.Load(id)
	if !ok {
		return nil
	}
	t := v.(*upstreamToken)
	if !now.Before(t.reuseUntil) || t.ident != ident.vals {
		return nil
	}
	return t
}

// put keeps t for id. Past max, it first drops the tokens no longer
// reusable, then, if that was not enough, others (any: map order) down to
// seven eighths of max, so that a full cache costs a sweep only now and
// then.
func (c *tokenCache) put(id string, t *upstreamToken, now time.Time) {
	if _, loaded := c.m.Swap(id, t); loaded {
		return
	}
	if c.n.Add(1) <= int64(c.max) || !c.sweep.TryLock() {
		return
	}
	defer c.sweep.Unlock()
	c.m.Range(func(k, v any) bool {
		if !now.Before(v.(*upstreamToken).reuseUntil) && k != id {
			c.drop(k)
		}
		return true
	})
	c.m.Range(func(k, _ any) bool {
		if c.n.Load() < int64(c.max-c.max/8) {
			return false
		}
		if k != id {
			c.drop(k)
		}
		return true
	})
}

func (c *tokenCache) drop(k any) {
	if _, ok := c.m.LoadAndDelete(k); ok {
		c.n.Add(-1)
	}
}

// len returns the number of tokens kept.
func (c *tokenCache) len() int { return int(c.n.Load()) }
