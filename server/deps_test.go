package server_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoRedisLinked: the server package, and so every embedder who does
// not import store/redisstore, links neither go-redis nor a session
// library: the Store interface is the server's own.
func TestNoRedisLinked(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "github.com/authflow/authflow/server").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "go-redis") || strings.Contains(dep, "alexedwards/scs") {
			t.Errorf("package server depends on %s", dep)
		}
	}
}

// TestOneJOSEStack: the server and the engine sign and verify with
// golang-jwt and read JWKs with the standard library (internal/jwk), so
// they link no second JOSE library.
func TestOneJOSEStack(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "github.com/authflow/authflow/server").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		for _, other := range []string{"go-jose", "square/go-jose", "MicahParks", "lestrrat-go/jwx"} {
			if strings.Contains(dep, other) {
				t.Errorf("package server depends on %s", dep)
			}
		}
	}
	if !slices.Contains(deps, "github.com/golang-jwt/jwt/v5") {
		t.Error("package server does not link golang-jwt: this test looks at the wrong list")
	}
}
