// Package testredis gives tests a real Redis: the one named by
// AUTHFLOW_TEST_REDIS_URL, else the one at 127.0.0.1:6379, else a
// redis-server it starts on a free port. Without any, a test is skipped on
// a developer's machine and fails when CI=true: CI must not skip silently.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	once    sync.Once
	addrURL string
	reason  string
)

// URL returns a redis:// URL for a running Redis, or skips (fails in CI).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(find)
	if addrURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is required in CI: %s (install redis-server; .ci/run does)", reason)
		}
		t.Skipf("no Redis: %s", reason)
	}
	return addrURL
}

// Client returns a client on a fresh key prefix for this test; keys with
// that prefix are deleted when the test ends.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	u := URL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	prefix := fmt.Sprintf("authflow-test:%d:%s:", time.Now().UnixNano(), t.Name())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return c, prefix
}

func ping(u string) error {
	opts, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

func find() {
	if u := os.Getenv("AUTHFLOW_TEST_REDIS_URL"); u != "" {
		if err := ping(u); err != nil {
			reason = fmt.Sprintf("AUTHFLOW_TEST_REDIS_URL=%s: %v", u, err)
			return
		}
		addrURL = u
		return
	}
	if ping("redis://127.0.0.1:6379/0") == nil {
		addrURL = "redis://127.0.0.1:6379/0"
		return
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		reason = "nothing at 127.0.0.1:6379 and no redis-server binary"
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		reason = err.Error()
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, _ := os.MkdirTemp("", "authflow-redis")
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		reason = fmt.Sprintf("starting redis-server: %v", err)
		return
	}
	// Stop, called from the package's TestMain after m.Run, ends it.
	go func() { cmd.Wait() }()
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	for i := 0; i < 50; i++ {
		if ping(u) == nil {
			addrURL = u
			started = cmd
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	reason = "redis-server started but did not answer"
}

var started *exec.Cmd

// Stop stops a redis-server this package started; call it from TestMain
// after m.Run. It does nothing when an existing Redis was used.
func Stop() {
	if started != nil && started.Process != nil {
		started.Process.Kill()
	}
	stopTopologies()
}
