package server_test

import (
	"os/exec"
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
