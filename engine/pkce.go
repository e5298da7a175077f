package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// CodeChallenge returns the S256 challenge of the login's PKCE verifier
// (RFC 7636 §4.2), or "" when PKCE is off.
func (l *Login) CodeChallenge() string {
	if l.CodeVerifier == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(l.CodeVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomString returns 32 random bytes, base64url-encoded (43 characters):
// enough for state, nonce and a PKCE verifier (RFC 7636 §4.1).
func randomString() string {
	var b [32]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
