package authtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/authflow/authflow/internal/jwk"
	"github.com/golang-jwt/jwt/v5"
)

// KeySet is a JWK Set read as a relying party reads it, with the parser
// the engine uses (package internal/jwk), for tests that verify what
// authflow or devidp signed with golang-jwt and no other JOSE library.
// Unlike the engine, it refuses a whole set with one unusable key: a
// test wants to know.
type KeySet struct {
	keys []jwk.Key
}

// ParseKeySet reads a JWK Set document (RFC 7517 §5).
func ParseKeySet(doc []byte) (*KeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("authtest: not a JWK Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("authtest: a JWK Set without keys")
	}
	s := &KeySet{}
	for i, raw := range set.Keys {
		k, err := jwk.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("authtest: JWK Set key %d: %w", i, err)
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// FetchKeySet reads the JWK Set at url with client (http.DefaultClient
// when nil).
func FetchKeySet(ctx context.Context, client *http.Client, url string) (*KeySet, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("authtest: JWK Set: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("authtest: JWK Set: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("authtest: JWK Set %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("authtest: JWK Set %s: HTTP %d", url, resp.StatusCode)
	}
	return ParseKeySet(body)
}

// Keys returns the set's keys.
func (s *KeySet) Keys() []jwk.Key { return s.keys }

// Keyfunc is a jwt.Keyfunc: the key the token's kid names, of the alg the
// token's header says when the key names one. A token without a kid is
// verified only by a set of one key.
func (s *KeySet) Keyfunc(t *jwt.Token) (any, error) {
	alg, _ := t.Header["alg"].(string)
	kid, hasKID := t.Header["kid"].(string)
	if !hasKID {
		if len(s.keys) != 1 {
			return nil, errors.New("authtest: a token without a kid, and several keys")
		}
		kid = s.keys[0].KID
	}
	for _, k := range s.keys {
		if k.KID == kid && (k.Alg == "" || k.Alg == alg) {
			return k.Public, nil
		}
	}
	return nil, fmt.Errorf("authtest: no key %q for %q in the JWK Set", kid, alg)
}
