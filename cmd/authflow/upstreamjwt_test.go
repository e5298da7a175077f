package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeKey writes a PEM key file and returns its path.
func writeKey(t *testing.T, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeUpstreamJWTSettings: the upstream_jwt settings reach the
// server: environment forms, the key file's algorithm in jwks.json, the
// warning for an ephemeral key, a weak key refused at start.
func TestServeUpstreamJWTSettings(t *testing.T) {
	const strategies = "--strategies=../../testdata/spec_example.json"
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(ed)
	if err != nil {
		t.Fatal(err)
	}
	edFile := writeKey(t, "PRIVATE KEY", der)

	t.Run("defaults", func(t *testing.T) {
		v := settingsFrom(t, "")
		if v.GetBool("upstream_jwt.enabled") || v.GetDuration("upstream_jwt.ttl") != 15*time.Minute ||
			v.GetString("upstream_jwt.key_file") != "" || v.GetString("upstream_jwt.audience") != "" {
			t.Errorf("defaults: enabled %v ttl %v key_file %q audience %q", v.GetBool("upstream_jwt.enabled"),
				v.GetDuration("upstream_jwt.ttl"), v.GetString("upstream_jwt.key_file"), v.GetString("upstream_jwt.audience"))
		}
	})

	t.Run("key file from the environment", func(t *testing.T) {
		t.Setenv("AUTHFLOW_UPSTREAM_JWT_ENABLED", "true")
		t.Setenv("AUTHFLOW_UPSTREAM_JWT_KEY_FILE", edFile)
		t.Setenv("AUTHFLOW_UPSTREAM_JWT_TTL", "5m")
		r := startServe(t, strategies)
		p := r.br.Get("/.well-known/jwks.json")
		var set struct {
			Keys []struct{ Alg, Kty, Crv, Kid string }
		}
		if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &set) != nil || len(set.Keys) != 1 {
			t.Fatalf("jwks.json: %d %s", p.Status, p.Body)
		}
		if k := set.Keys[0]; k.Alg != "EdDSA" || k.Kty != "OKP" || k.Crv != "Ed25519" || k.Kid == "" {
			t.Errorf("jwks.json key %+v, want the key file's Ed25519 key", k)
		}
		if strings.Contains(r.logs.String(), "ephemeral") {
			t.Errorf("an ephemeral-key warning with a key file:\n%s", r.logs)
		}
	})

	t.Run("ephemeral key warned about", func(t *testing.T) {
		r := startServe(t, strategies, "--upstream-jwt-enabled")
		if got := r.status("/.well-known/jwks.json"); got != http.StatusOK {
			t.Errorf("jwks.json: %d", got)
		}
		if !strings.Contains(r.logs.String(), "ephemeral P-256 key") {
			t.Errorf("no warning about the ephemeral key:\n%s", r.logs)
		}
	})

	t.Run("off by default", func(t *testing.T) {
		r := startServe(t, strategies)
		if got := r.status("/.well-known/jwks.json"); got != http.StatusNotFound {
			t.Errorf("jwks.json with upstream_jwt off: %d, want 404", got)
		}
	})

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"RSA 1024 key file", "1024 bits", []string{"--upstream-jwt-key-file=" + writeKey(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))}},
		{"missing key file", "upstream_jwt.key_file", []string{"--upstream-jwt-key-file=" + filepath.Join(t.TempDir(), "none.pem")}},
		{"negative ttl", "TTL", []string{"--upstream-jwt-ttl=-1m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tryServe(t, append([]string{strategies, "--upstream-jwt-enabled"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
