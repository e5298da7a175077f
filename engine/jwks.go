package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	jwkey "github.com/authflow/authflow/internal/jwk"
)

// keysFailureBackoff is how long a failed key-set fetch is shared: every
// verification that needs keys meanwhile gets the same error without a new
// fetch, so a flood of requests against a failing IdP causes one fetch per
// backoff, not one per request.
const keysFailureBackoff = 2 * time.Second

// errKeyNotFound: the token's kid is not in the key set, even after the
// refetch the unknown-kid window allowed (if any).
var errKeyNotFound = errors.New("key not found")

// keySet is the verification keys of one IdP, fetched on first use from
// jwks_uri (or the issuer's discovery document) and shared by every
// strategy naming the same source. At most one fetch is in flight; every
// verification that needs it waits for that one, each within its own
// context. A fetch runs under the engine's context, not a caller's, so a
// caller giving up does not fail the others. Keys older than
// Options.JWKSRefreshInterval are refetched in the background while the old
// ones keep serving; a token naming an unknown kid may cause a refetch at
// most once per Options.JWKSUnknownKIDInterval (shared, so forged kids
// delay a genuine rotation by one window at most); a failed fetch is
// remembered for keysFailureBackoff.
type keySet struct {
	e       *Engine
	jwksURI string // known up front, or found by discovery (touched only by the fetch in flight)
	issuer  string // for discovery when jwksURI is empty

	mu        sync.Mutex
	keys      *jwks     // the last fetched set; nil before the first success
	fetchedAt time.Time // when keys was fetched
	failed    error     // the last fetch's error; nil after a success
	failedAt  time.Time
	unknownAt time.Time // when an unknown kid last started a refetch
	flight    *keyFetch // the fetch in flight, or nil
}

// keyFetch is one fetch of a key set, shared by all who wait for it.
type keyFetch struct {
	done chan struct{} // closed when keys and err are set
	keys *jwks
	err  error
}

// wait returns the fetch's result, or ctx's error as soon as ctx ends.
func (f *keyFetch) wait(ctx context.Context) (*jwks, error) {
	select {
	case <-f.done:
		return f.keys, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the key set: %w", ctx.Err())
	}
}

// keySetFor returns the shared key set for a jwks_uri or an issuer.
func (e *Engine) keySetFor(jwksURI, issuer string) *keySet {
	key := jwksURI
	if key == "" {
		key = "issuer:" + issuer
	}
	e.keysMu.Lock()
	defer e.keysMu.Unlock()
	ks, ok := e.keys[key]
	if !ok {
		ks = &keySet{e: e, jwksURI: jwksURI, issuer: issuer}
		e.keys[key] = ks
	}
	return ks
}

// keyfunc returns the jwt.Keyfunc for one verification, fetching the key
// set first if there is none yet.
func (k *keySet) keyfunc(ctx context.Context) (jwt.Keyfunc, error) {
	set, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	return func(tok *jwt.Token) (any, error) { return k.keyFor(ctx, set, tok) }, nil
}

// current returns the key set: the cached one (starting a background
// refresh when it is old), or the result of the first fetch.
func (k *keySet) current(ctx context.Context) (*jwks, error) {
	k.mu.Lock()
	now := k.e.opts.Now()
	if set := k.keys; set != nil {
		if now.Sub(k.fetchedAt) >= k.e.opts.JWKSRefreshInterval && k.mayStart(now) {
			k.start() // nobody waits: the old keys serve meanwhile
		}
		k.mu.Unlock()
		return set, nil
	}
	f := k.flight
	if f == nil && k.mayStart(now) {
		f = k.start()
	}
	err := k.failed
	k.mu.Unlock()
	if f == nil {
		return nil, err // inside the backoff after a failure
	}
	return f.wait(ctx)
}

// refetchForKID returns the key set after the refetch an unknown kid may
// cause: it joins a fetch already in flight, or starts one when none has
// been started for an unknown kid within Options.JWKSUnknownKIDInterval
// and no failure is being backed off. fetched is false when no fetch may
// run.
func (k *keySet) refetchForKID(ctx context.Context) (set *jwks, fetched bool, err error) {
	k.mu.Lock()
	now := k.e.opts.Now()
	f := k.flight
	if f == nil && now.Sub(k.unknownAt) >= k.e.opts.JWKSUnknownKIDInterval && k.mayStart(now) {
		k.unknownAt = now
		f = k.start()
	}
	k.mu.Unlock()
	if f == nil {
		return nil, false, nil
	}
	set, err = f.wait(ctx)
	return set, true, err
}

// mayStart reports whether a new fetch may start: none is in flight and
// the last one did not fail within keysFailureBackoff. k.mu must be held.
func (k *keySet) mayStart(now time.Time) bool {
	return k.flight == nil && (k.failed == nil || now.Sub(k.failedAt) >= keysFailureBackoff)
}

// start begins a fetch under the engine's context. k.mu must be held.
func (k *keySet) start() *keyFetch {
	f := &keyFetch{done: make(chan struct{})}
	k.flight = f
	go k.run(f)
	return f
}

// run performs fetch f and records its outcome for later verifications.
func (k *keySet) run(f *keyFetch) {
	set, err := k.fetch(k.e.ctx)
	k.mu.Lock()
	if err == nil {
		k.keys, k.fetchedAt, k.failed = set, k.e.opts.Now(), nil
	} else {
		k.failed, k.failedAt = err, k.e.opts.Now()
	}
	k.flight = nil
	k.mu.Unlock()
	f.keys, f.err = set, err
	close(f.done)
}

// fetch finds the jwks_uri (once) and reads the key set, reporting the
// outcome to Options.OnKeysFetch.
func (k *keySet) fetch(ctx context.Context) (*jwks, error) {
	if k.jwksURI == "" {
		uri, err := k.e.discoverJWKS(ctx, k.issuer)
		if err != nil {
			return nil, err
		}
		k.jwksURI = uri
	}
	set, err := k.e.fetchJWKS(ctx, k.jwksURI)
	if fn := k.e.opts.OnKeysFetch; fn != nil {
		fn(redactURI(k.jwksURI), err)
	}
	return set, err
}

// keyFor picks the key that verifies tok from set: by kid, refetching once
// if the window allows when the kid is unknown; without a kid, every
// usable key for the token's alg.
func (k *keySet) keyFor(ctx context.Context, set *jwks, tok *jwt.Token) (any, error) {
	alg, _ := tok.Header["alg"].(string)
	v, has := tok.Header["kid"]
	if !has {
		return set.forAnyKID(alg)
	}
	kid, ok := v.(string)
	if !ok {
		return nil, errors.New("the kid in the token's header is not a string")
	}
	if ks := set.byKID[kid]; len(ks) > 0 {
		return verificationKey(ks, alg)
	}
	fresh, fetched, err := k.refetchForKID(ctx)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: kid %.64q is not in the key set, and refetching it failed: %w", errKeyNotFound, kid, err)
	case !fetched:
		return nil, fmt.Errorf("%w: kid %.64q is not in the key set (refetched at most once per %s)",
			errKeyNotFound, kid, k.e.opts.JWKSUnknownKIDInterval)
	}
	if ks := fresh.byKID[kid]; len(ks) > 0 {
		return verificationKey(ks, alg)
	}
	return nil, fmt.Errorf("%w: kid %.64q is not in the key set", errKeyNotFound, kid)
}

// fetchJWKS reads and parses the JSON Web Key Set at uri (RFC 7517 §5).
func (e *Engine) fetchJWKS(ctx context.Context, uri string) (*jwks, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching keys from %s: %w", redactURI(uri), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, keysFetchError(uri, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: fetching keys from %s: HTTP %d", ErrUnreachable, redactURI(uri), resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, keysFetchError(uri, err)
	}
	set, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%w: keys from %s: %v", ErrBadResponse, redactURI(uri), err)
	}
	return set, nil
}

// keysFetchError classifies a failed key-set request: too large, or the
// IdP unreachable.
func keysFetchError(uri string, err error) error {
	if errors.Is(err, ErrResponseTooLarge) {
		return fmt.Errorf("fetching keys from %s: %w", redactURI(uri), err)
	}
	return fmt.Errorf("%w: fetching keys from %s: %v", ErrUnreachable, redactURI(uri), err)
}

// jwks is a parsed key set.
type jwks struct {
	byKID map[string][]*jwk // a kid may name several keys (one per use or alg)
	all   []*jwk
}

// jwk is one key of a set. A key that may not verify signatures stays in
// the set with the reason, so that a token naming it is refused with that
// reason rather than counted as an unknown kid.
type jwk struct {
	kid     string
	alg     string // the key's alg member; "" allows any of the step's
	key     any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	refused error  // why this key never verifies a signature; nil when it may
}

// parseJWKS parses a JWK Set document. Keys are read one by one; one that cannot be read is kept as refused under its kid
// (RFC 7517 §5: ignore keys that are not understood).
func parseJWKS(body []byte) (*jwks, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	if doc.Keys == nil {
		return nil, errors.New("not a JWK Set: no keys member")
	}
	set := &jwks{byKID: map[string][]*jwk{}}
	for _, raw := range doc.Keys {
		k := parseJWK(raw)
		set.all = append(set.all, k)
		if k.kid != "" {
			set.byKID[k.kid] = append(set.byKID[k.kid], k)
		}
	}
	return set, nil
}

// parseJWK reads one key and decides whether it may verify signatures
// (package jwk: marked for signatures or not marked, asymmetric, well
// formed, RSA of at least 2048 bits, EC points on their curve).
func parseJWK(raw json.RawMessage) *jwk {
	k, err := jwkey.Parse(raw)
	if err != nil {
		return &jwk{kid: k.KID, refused: fmt.Errorf("key %.64q cannot be used: %v", k.KID, err)}
	}
	return &jwk{kid: k.KID, alg: k.Alg, key: k.Public}
}

// usableFor reports why k may not verify a token signed with alg, or nil.
func (k *jwk) usableFor(alg string) error {
	if k.refused != nil {
		return k.refused
	}
	if k.alg != "" && k.alg != alg {
		return fmt.Errorf("key %.64q is for alg %q, the token uses %q", k.kid, k.alg, alg)
	}
	return nil
}

// verificationKey returns the key, or keys, of one kid that may verify a
// token signed with alg; the first refusal when none may.
func verificationKey(ks []*jwk, alg string) (any, error) {
	var usable []jwt.VerificationKey
	var refusal error
	for _, k := range ks {
		if err := k.usableFor(alg); err != nil {
			if refusal == nil {
				refusal = err
			}
			continue
		}
		usable = append(usable, k.key)
	}
	switch len(usable) {
	case 0:
		return nil, refusal
	case 1:
		return usable[0], nil
	}
	return jwt.VerificationKeySet{Keys: usable}, nil
}

// forAnyKID returns every key of the set that may verify a token signed
// with alg, for a token without a kid.
func (s *jwks) forAnyKID(alg string) (any, error) {
	var usable []jwt.VerificationKey
	for _, k := range s.all {
		if k.usableFor(alg) == nil {
			usable = append(usable, k.key)
		}
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("%w: the token has no kid and no key in the set may verify %q", errKeyNotFound, alg)
	}
	return jwt.VerificationKeySet{Keys: usable}, nil
}

// discoverJWKS reads the issuer's OpenID Provider Configuration
// (OpenID Connect Discovery 1.0 §4) and returns its jwks_uri, after checking
// that the document names the same issuer.
func (e *Engine) discoverJWKS(ctx context.Context, issuer string) (string, error) {
	d, err := e.discover(ctx, issuer)
	if err != nil {
		return "", err
	}
	uri := d.members["jwks_uri"]
	if uri == "" {
		return "", fmt.Errorf("%w: discovery at %s has no jwks_uri", ErrBadResponse, d.url)
	}
	return uri, nil
}
