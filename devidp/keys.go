package devidp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// signingKey is a private key that signs ID tokens and logout tokens.
// go-jose appears only in the types zitadel's op interfaces name; devidp
// signs its own tokens (SignJWT) with golang-jwt.
type signingKey struct {
	id     string
	alg    jose.SignatureAlgorithm
	signer crypto.Signer
}

var _ op.SigningKey = (*signingKey)(nil)

// SignatureAlgorithm implements op.SigningKey.
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }

// Key implements op.SigningKey: the private key.
func (k *signingKey) Key() any { return k.signer }

// ID implements op.SigningKey: the kid.
func (k *signingKey) ID() string { return k.id }

// publicKey is a signing key's public half, as published in the JWKS.
type publicKey struct{ k *signingKey }

var _ op.Key = publicKey{}

// ID implements op.Key.
func (p publicKey) ID() string { return p.k.id }

// Algorithm implements op.Key.
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }

// Use implements op.Key.
func (p publicKey) Use() string { return "sig" }

// Key implements op.Key: the public key.
func (p publicKey) Key() any { return p.k.signer.Public() }

// keyRing holds the current signing key and the retired ones, which stay
// published so that the tokens they signed still verify.
type keyRing struct {
	alg jose.SignatureAlgorithm

	mu      sync.RWMutex
	current *signingKey
	retired []*signingKey // oldest first
}

// newKeyRing makes a ring with a fresh key for alg ("RS256" or "ES256").
func newKeyRing(alg string) (*keyRing, error) {
	switch a := jose.SignatureAlgorithm(alg); a {
	case jose.RS256, jose.ES256:
		r := &keyRing{alg: a}
		if err := r.rotate(); err != nil {
			return nil, err
		}
		return r, nil
	default:
		return nil, fmt.Errorf("devidp: algorithm %q: want RS256 or ES256", alg)
	}
}

// rotate makes a new key the current one and retires the old one.
func (r *keyRing) rotate() error {
	var (
		signer crypto.Signer
		err    error
	)
	switch r.alg {
	case jose.ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return fmt.Errorf("devidp: generate %s key: %w", r.alg, err)
	}
	k := &signingKey{id: randomID(12), alg: r.alg, signer: signer}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil {
		r.retired = append(r.retired, r.current)
	}
	r.current = k
	return nil
}

// signing returns the current key.
func (r *keyRing) signing() *signingKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// public returns every published key, the current one first.
func (r *keyRing) public() []op.Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := []op.Key{publicKey{r.current}}
	for i := len(r.retired) - 1; i >= 0; i-- {
		keys = append(keys, publicKey{r.retired[i]})
	}
	return keys
}

// sign signs claims, marshalled to JSON, as a compact JWS with the current
// key: alg and kid in the protected header, then header's entries, which
// may override them.
func (r *keyRing) sign(header map[string]any, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("devidp: sign: %w", err)
	}
	k := r.signing()
	h := map[string]any{"alg": string(k.alg), "kid": k.id}
	maps.Copy(h, header)
	head, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("devidp: sign: %w", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signing := b64(head) + "." + b64(payload)
	sig, err := jwt.GetSigningMethod(string(k.alg)).Sign(signing, k.signer)
	if err != nil {
		return "", fmt.Errorf("devidp: sign: %w", err)
	}
	return signing + "." + b64(sig), nil
}
