package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the least RSA modulus an upstream JWT key may have.
const minRSABits = 2048

// ParseSigningKey reads an upstream JWT signing key (UpstreamJWT.Key) from
// PEM: a "PRIVATE KEY" block (PKCS #8), an "EC PRIVATE KEY" (SEC 1) or an
// "RSA PRIVATE KEY" (PKCS #1). Other blocks before it, such as the
// "EC PARAMETERS" that openssl ecparam writes, are skipped. The key must be
// EC P-256 (ES256), Ed25519 (EdDSA) or RSA of at least 2048 bits (RS256);
// encrypted keys are refused.
func ParseSigningKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("server: upstream JWT key: no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY PEM block")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("server: upstream JWT key: encrypted keys are not supported; decrypt it (openssl pkey -in KEY -out PLAIN)")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("server: upstream JWT key: %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("server: upstream JWT key: a %T cannot sign", key)
		}
		if _, err := signingMethodFor(signer.Public()); err != nil {
			return nil, err
		}
		return signer, nil
	}
}

// signingMethodFor returns the JWS algorithm of a public key: ES256 for EC
// P-256, EdDSA for Ed25519, RS256 for RSA of at least 2048 bits; an error
// for any other key.
func signingMethodFor(pub crypto.PublicKey) (*signerMethod, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("server: upstream JWT key: EC curve %s; want P-256 (ES256)", k.Curve.Params().Name)
		}
		return &signerMethod{alg: "ES256", hash: crypto.SHA256, verify: jwt.SigningMethodES256}, nil
	case ed25519.PublicKey:
		return &signerMethod{alg: "EdDSA", verify: jwt.SigningMethodEdDSA}, nil
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits {
			return nil, fmt.Errorf("server: upstream JWT key: RSA key of %d bits; want at least %d", n, minRSABits)
		}
		return &signerMethod{alg: "RS256", hash: crypto.SHA256, verify: jwt.SigningMethodRS256}, nil
	default:
		return nil, fmt.Errorf("server: upstream JWT key: a %T; want EC P-256, Ed25519 or RSA (2048 bits or more)", pub)
	}
}

// signerMethod is a jwt.SigningMethod that signs with any crypto.Signer
// (a key in memory, or one in a KMS or HSM), where golang-jwt's own
// methods want the concrete private key types.
type signerMethod struct {
	alg    string
	hash   crypto.Hash // 0: the message itself is signed (EdDSA)
	verify jwt.SigningMethod
}

var _ jwt.SigningMethod = (*signerMethod)(nil)

// Alg implements jwt.SigningMethod.
func (m *signerMethod) Alg() string { return m.alg }

// Verify implements jwt.SigningMethod with golang-jwt's own method.
func (m *signerMethod) Verify(signingString string, sig []byte, key any) error {
	return m.verify.Verify(signingString, sig, key)
}

// Sign implements jwt.SigningMethod; key is a crypto.Signer. An ECDSA
// signature is turned from ASN.1 into JWS's fixed-size r || s (RFC 7518
// §3.4).
func (m *signerMethod) Sign(signingString string, key any) ([]byte, error) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("server: sign %s: a %T is not a crypto.Signer", m.alg, key)
	}
	msg, opts := []byte(signingString), crypto.SignerOpts(crypto.Hash(0))
	if m.hash != 0 {
		h := m.hash.New()
		h.Write(msg)
		msg, opts = h.Sum(nil), m.hash
	}
	sig, err := signer.Sign(rand.Reader, msg, opts)
	if err != nil {
		return nil, fmt.Errorf("server: sign %s: %w", m.alg, err)
	}
	if m.alg != "ES256" {
		return sig, nil
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("server: sign ES256: the signer's answer is not an ASN.1 ECDSA signature")
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}
