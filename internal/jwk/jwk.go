// Package jwk reads and writes JSON Web Keys (RFC 7517) for signature
// verification, with the standard library only: RSA (RFC 7518 §6.3), EC on
// P-256, P-384 and P-521 (§6.2) and Ed25519 (RFC 8037). Signatures
// themselves are golang-jwt's.
//
// Parse is strict: a key that is not marked for signatures, that is
// symmetric or carries private members, whose members are malformed or
// given twice, whose RSA modulus is under 2048 bits, or whose EC point is
// not on its curve is refused with the reason. Such a key never verifies
// anything.
package jwk

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sizes of RSA moduli that may verify a signature, in bits. Over the
// maximum a key costs a verifier more than it buys (and no provider
// publishes one).
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// Key is a public key read from a JWK, usable for signature verification.
type Key struct {
	KID string // the kid member; "" when absent
	Alg string // the alg member; "" when absent (any algorithm of its type)
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
}

// privateMembers are the members that only a private or symmetric key has
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Parse reads one JWK object. On error the Key holds the kid when it could
// be read, so that a caller can refuse tokens naming it rather than count
// the kid as unknown.
func Parse(raw []byte) (Key, error) {
	m, err := readMembers(raw)
	if err != nil {
		kid, _ := m.str("kid") // the members read before the error
		return Key{KID: kid}, fmt.Errorf("not a JWK: %w", err)
	}
	var k Key
	if k.KID, err = m.str("kid"); err != nil {
		return Key{}, err
	}
	k.Public, k.Alg, err = m.key()
	if err != nil {
		return Key{KID: k.KID}, fmt.Errorf("key %.64q: %w", k.KID, err)
	}
	return k, nil
}

// members is a JWK object's members, each as raw JSON.
type members map[string]json.RawMessage

// readMembers splits one JSON object into its members, refusing text that
// is not UTF-8, a member given twice (two parsers could read two keys),
// and anything after the object. On error it returns the members read
// before it.
func readMembers(raw []byte) (members, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	m := members{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name := t.(string) // an object's keys are strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("member %.32q: %w", name, err)
		}
		if _, dup := m[name]; dup {
			return m, fmt.Errorf("member %.32q given twice", name)
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return m, err
	}
	if _, err := dec.Token(); err == nil {
		return m, errors.New("text after the object")
	}
	return m, nil
}

// str returns member name as a string; "" when absent.
func (m members) str(name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("member %q is not a string", name)
	}
	return s, nil
}

// bytes returns member name decoded from base64url (RFC 7515 §2, padding
// tolerated), refusing an absent or empty member.
func (m members) bytes(name string) ([]byte, error) {
	s, err := m.str(name)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, fmt.Errorf("member %q is missing", name)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("member %q is not base64url: %v", name, err)
	}
	return b, nil
}

// key checks the members that say what the key is for, then reads it by
// its kty.
func (m members) key() (crypto.PublicKey, string, error) {
	kty, err := m.str("kty")
	if err != nil {
		return nil, "", err
	}
	use, err := m.str("use")
	if err != nil {
		return nil, "", err
	}
	if use != "" && use != "sig" {
		return nil, "", fmt.Errorf("for use %.32q, not for signatures", use)
	}
	if err := m.verifyOp(); err != nil {
		return nil, "", err
	}
	alg, err := m.str("alg")
	if err != nil {
		return nil, "", err
	}
	if kty == "oct" {
		return nil, "", errors.New("a symmetric key (kty oct), never used to verify")
	}
	for _, p := range privateMembers {
		if _, ok := m[p]; ok {
			return nil, "", fmt.Errorf("holds private key material (member %q): a published private key verifies nothing", p)
		}
	}
	var pub crypto.PublicKey
	var algs []string // the algorithms this key may verify
	switch kty {
	case "RSA":
		pub, err = m.rsa()
		algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case "EC":
		pub, algs, err = m.ec()
	case "OKP":
		pub, err = m.okp()
		algs = []string{"EdDSA", "Ed25519"}
	case "":
		err = errors.New("no kty member")
	default:
		err = fmt.Errorf("unsupported kty %.32q", kty)
	}
	if err != nil {
		return nil, "", err
	}
	if alg != "" && !slices.Contains(algs, alg) {
		return nil, "", fmt.Errorf("alg %.32q does not fit a %s key (%s)", alg, kty, strings.Join(algs, ", "))
	}
	return pub, alg, nil
}

// verifyOp refuses a key_ops member (RFC 7517 §4.3) without "verify".
func (m members) verifyOp() error {
	v, ok := m["key_ops"]
	if !ok {
		return nil
	}
	var ops []string
	if err := json.Unmarshal(v, &ops); err != nil {
		return errors.New("member \"key_ops\" is not an array of strings")
	}
	if !slices.Contains(ops, "verify") {
		return fmt.Errorf("key_ops %.64q does not include verify", ops)
	}
	return nil
}

// rsa reads an RSA public key (RFC 7518 §6.3.1).
func (m members) rsa() (*rsa.PublicKey, error) {
	nb, err := m.bytes("n")
	if err != nil {
		return nil, err
	}
	eb, err := m.bytes("e")
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	switch bits := n.BitLen(); {
	case bits < MinRSABits:
		return nil, fmt.Errorf("an RSA key of %d bits, under %d", bits, MinRSABits)
	case bits > MaxRSABits:
		return nil, fmt.Errorf("an RSA key of %d bits, over %d", bits, MaxRSABits)
	case n.Bit(0) == 0:
		return nil, errors.New("an RSA modulus that is even")
	}
	eb = bytes.TrimLeft(eb, "\x00")
	if len(eb) > 4 {
		return nil, errors.New("an RSA exponent over 2^31")
	}
	var e int64
	for _, b := range eb {
		e = e<<8 | int64(b)
	}
	if e < 3 || e >= 1<<31 || e%2 == 0 {
		return nil, fmt.Errorf("an RSA exponent of %d (odd, from 3 to 2^31-1 expected)", e)
	}
	return &rsa.PublicKey{N: n, E: int(e)}, nil
}

// curves are the EC curves a key may name, with the algorithm each
// verifies (RFC 7518 §3.4).
var curves = map[string]struct {
	curve elliptic.Curve
	alg   string
}{
	"P-256": {elliptic.P256(), "ES256"},
	"P-384": {elliptic.P384(), "ES384"},
	"P-521": {elliptic.P521(), "ES512"},
}

// ec reads an EC public key (RFC 7518 §6.2.1): x and y each the full
// length of a coordinate, the point on the curve.
func (m members) ec() (*ecdsa.PublicKey, []string, error) {
	crv, err := m.str("crv")
	if err != nil {
		return nil, nil, err
	}
	c, ok := curves[crv]
	if !ok {
		return nil, nil, fmt.Errorf("unsupported EC curve %.32q", crv)
	}
	size := (c.curve.Params().BitSize + 7) / 8
	point := []byte{4} // uncompressed: 0x04 || x || y (SEC 1 §2.3.3)
	for _, name := range []string{"x", "y"} {
		b, err := m.bytes(name)
		if err != nil {
			return nil, nil, err
		}
		if len(b) != size {
			return nil, nil, fmt.Errorf("member %q is %d bytes, %s needs %d", name, len(b), crv, size)
		}
		point = append(point, b...)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(c.curve, point)
	if err != nil {
		return nil, nil, fmt.Errorf("the point is not on %s", crv)
	}
	return pub, []string{c.alg}, nil
}

// okp reads an Ed25519 public key (RFC 8037 §2).
func (m members) okp() (ed25519.PublicKey, error) {
	crv, err := m.str("crv")
	if err != nil {
		return nil, err
	}
	if crv != "Ed25519" {
		return nil, fmt.Errorf("unsupported OKP curve %.32q (only Ed25519 signs)", crv)
	}
	x, err := m.bytes("x")
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("member \"x\" is %d bytes, Ed25519 needs %d", len(x), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// Marshal returns the JWK of a public key for signatures: use "sig", with
// kid and alg when not empty.
func Marshal(pub crypto.PublicKey, kid, alg string) ([]byte, error) {
	m, err := required(pub)
	if err != nil {
		return nil, err
	}
	m.KID, m.Use, m.Alg = kid, "sig", alg
	return json.Marshal(m)
}

// Thumbprint returns the SHA-256 JWK Thumbprint of a public key (RFC 7638),
// base64url-encoded: the hash of its required members in lexicographic
// order, without white space (encoding/json writes a struct's fields in
// their order).
func Thumbprint(pub crypto.PublicKey) (string, error) {
	m, err := required(pub)
	if err != nil {
		return "", err
	}
	var doc any
	switch m.Kty {
	case "RSA":
		doc = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{m.E, m.Kty, m.N}
	case "EC":
		doc = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{m.Crv, m.Kty, m.X, m.Y}
	default: // OKP
		doc = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{m.Crv, m.Kty, m.X}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// object is a public JWK as written.
type object struct {
	Crv string `json:"crv,omitempty"`
	E   string `json:"e,omitempty"`
	Kty string `json:"kty"`
	N   string `json:"n,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	KID string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// required returns the required members of pub's JWK.
func required(pub crypto.PublicKey) (object, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return object{Kty: "RSA", N: b64(k.N.Bytes()), E: b64(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		for name, c := range curves {
			if k.Curve == c.curve {
				b, err := k.Bytes() // 0x04 || x || y, each padded
				if err != nil {
					return object{}, fmt.Errorf("jwk: %w", err)
				}
				size := (len(b) - 1) / 2
				return object{Kty: "EC", Crv: name, X: b64(b[1 : 1+size]), Y: b64(b[1+size:])}, nil
			}
		}
		return object{}, errors.New("jwk: unsupported EC curve")
	case ed25519.PublicKey:
		return object{Kty: "OKP", Crv: "Ed25519", X: b64(k)}, nil
	}
	return object{}, fmt.Errorf("jwk: unsupported public key %T", pub)
}
