package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// tool is an external program a test needs: its path, or why there is none.
type tool struct {
	once   sync.Once
	path   string
	reason string
	find   func() (path, reason string)
}

// need returns the tool's path. Without it the test is skipped, or fails
// when CI=true.
func (tl *tool) need(t testing.TB) string {
	t.Helper()
	tl.once.Do(func() { tl.path, tl.reason = tl.find() })
	if tl.path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("required in CI: %s (scripts/test-deps.sh installs it)", tl.reason)
		}
		t.Skipf("skipped: %s (scripts/test-deps.sh installs it)", tl.reason)
	}
	return tl.path
}

// lookFor returns the first of the names found on PATH or of the absolute
// paths that is an executable file.
func lookFor(names ...string) string {
	for _, n := range names {
		if strings.HasPrefix(n, "/") {
			if fi, err := os.Stat(n); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return n
			}
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// chromium is Debian's Chromium (package chromium).
var chromium = &tool{find: func() (string, string) {
	if p := lookFor("/usr/bin/chromium", "chromium"); p != "" {
		return p, ""
	}
	return "", "no Chromium: neither /usr/bin/chromium nor chromium on PATH"
}}

// nginx is nginx with the auth_request module (Debian's nginx has it).
var nginx = &tool{find: func() (string, string) {
	// /usr/sbin is not on every user's PATH.
	p := lookFor("nginx", "/usr/sbin/nginx")
	if p == "" {
		return "", "no nginx: neither nginx on PATH nor /usr/sbin/nginx"
	}
	out, err := exec.Command(p, "-V").CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("%s -V: %v: %s", p, err, out)
	}
	if !strings.Contains(string(out), "with-http_auth_request_module") {
		return "", fmt.Sprintf("%s is built without the auth_request module", p)
	}
	return p, ""
}}
