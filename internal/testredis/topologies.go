package testredis

// Sentinel and Cluster start real Redis topologies from Debian's
// redis-server binary (which also runs as a sentinel): a primary with one
// replica watched by one sentinel, and a three-node cluster. Each is
// started once per test binary, on free ports in a temporary directory,
// and stopped by Stop.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	topoMu    sync.Mutex
	processes []*exec.Cmd
	dirs      []string

	sentinelOnce sync.Once
	sentinelURL  string
	sentinelErr  error

	clusterOnce sync.Once
	clusterURL  string
	clusterErr  error
)

// SentinelMaster is the name the sentinel knows the primary by.
const SentinelMaster = "authflow"

// SentinelURL returns a go-redis failover URL
// (redis://SENTINEL?master_name=authflow&addr=…) for a primary, a replica
// and a sentinel it started; it skips (fails in CI) without redis-server.
func SentinelURL(t testing.TB) string {
	t.Helper()
	sentinelOnce.Do(func() { sentinelURL, sentinelErr = startSentinel() })
	need(t, sentinelErr)
	return sentinelURL
}

// ClusterURL returns a go-redis cluster URL (redis://NODE?addr=…&addr=…)
// for a three-node cluster it started; it skips (fails in CI) without
// redis-server and redis-cli.
func ClusterURL(t testing.TB) string {
	t.Helper()
	clusterOnce.Do(func() { clusterURL, clusterErr = startCluster() })
	need(t, clusterErr)
	return clusterURL
}

func need(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("a Redis topology is required in CI: %v", err)
	}
	t.Skipf("no Redis topology: %v", err)
}

// freePort returns a port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs redis-server with a config file holding conf, in a
// directory of its own, and waits until it answers PING.
func startServer(conf string, sentinel bool) (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("no redis-server binary: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "authflow-redis-topo")
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	file := filepath.Join(dir, "redis.conf")
	conf = fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsave \"\"\nappendonly no\n", port, dir) + conf
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		return "", err
	}
	args := []string{file}
	if sentinel {
		args = append(args, "--sentinel")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting redis-server: %w", err)
	}
	go cmd.Wait()
	topoMu.Lock()
	processes = append(processes, cmd)
	dirs = append(dirs, dir)
	topoMu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return addr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("redis-server at %s did not answer: %w", addr, err)
}

func startSentinel() (string, error) {
	primary, err := startServer("", false)
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(primary)
	if _, err := startServer(fmt.Sprintf("replicaof %s %s\n", host, port), false); err != nil {
		return "", err
	}
	sentinel, err := startServer(fmt.Sprintf("sentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 2000\n",
		SentinelMaster, host, port, SentinelMaster), true)
	if err != nil {
		return "", err
	}
	// Wait until the sentinel names the primary.
	c := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
	defer c.Close()
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		cancel()
		if err == nil && len(got) == 2 && net.JoinHostPort(got[0], got[1]) == primary {
			return fmt.Sprintf("redis://%s?master_name=%s", sentinel, SentinelMaster), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("the sentinel at %s does not name the primary %s", sentinel, primary)
}

func startCluster() (string, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return "", fmt.Errorf("no redis-cli binary: %w", err)
	}
	var addrs []string
	for i := 0; i < 3; i++ {
		a, err := startServer("cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 5000\n", false)
		if err != nil {
			return "", err
		}
		addrs = append(addrs, a)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	// Every node must agree the cluster is up, and a cluster client must be
	// able to write to each node's slots.
	for _, a := range addrs {
		if err := waitClusterOK(a); err != nil {
			return "", err
		}
	}
	u := fmt.Sprintf("redis://%s?addr=%s&addr=%s", addrs[0], addrs[1], addrs[2])
	co, err := redis.ParseClusterURL(u)
	if err != nil {
		return "", err
	}
	cc := redis.NewClusterClient(co)
	defer cc.Close()
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = nil
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} { // slots on every node
			if err = cc.Set(ctx, "testredis-probe-"+k, "1", time.Second).Err(); err != nil {
				break
			}
		}
		cancel()
		if err == nil {
			return u, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("the cluster at %v did not reach cluster_state:ok", addrs)
}

// waitClusterOK waits until the node at addr reports cluster_state:ok.
func waitClusterOK(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.ClusterInfo(ctx).Result()
		cancel()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the cluster node at %s did not reach cluster_state:ok", addr)
}

// stopTopologies ends every process this file started and removes their
// directories.
func stopTopologies() {
	topoMu.Lock()
	defer topoMu.Unlock()
	for _, p := range processes {
		if p.Process != nil {
			p.Process.Kill()
		}
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	processes, dirs = nil, nil
}
