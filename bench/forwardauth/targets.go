package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// target is one server under load.
type target struct {
	name   string // floor, memory, memory-jwt, redis, bearer
	url    string // the forward-auth URL wrk loads
	header string // the Cookie (Authorization for bearer) header, "" for the floor
	pid    int    // the server process, for /proc/PID/stat

	// For the Redis target only: the Redis it uses, and that Redis's pid.
	redis    *redis.Client
	redisPID int
}

// child is a process the bench started; stopAll ends it.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // its stdin, when piped: a child ends when it closes
	lines *bufio.Scanner // its stdout line by line, when piped
	log   string         // the file holding its stderr (and stdout when not piped)
	logf  *os.File       // open while it runs
	done  chan struct{}  // closed when it has exited
	err   error          // its exit status, once done
}

// processes are the bench's children, stopped together at the end.
type processes struct {
	dir  string // where their logs go
	list []*child
}

// start runs args (pinned to cpu) with its stderr in a log file. With pipe
// its stdout is read line by line through c.lines and its stdin stays open
// (a child ends when its stdin closes); otherwise stdout goes to the log.
func (ps *processes) start(name, cpu string, env []string, pipe bool, args ...string) (*child, error) {
	c := &child{name: name, log: filepath.Join(ps.dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	c.logf = f
	argv := pinned(cpu, args)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = benchEnv(env)
	cmd.Stderr = f
	// A child dies with the bench, even when the bench is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if pipe {
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		c.lines, c.stdin = bufio.NewScanner(out), in
	} else {
		cmd.Stdout = f
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.cmd = cmd
	ps.list = append(ps.list, c)
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// benchEnv is the bench's environment plus extra, without AUTHFLOW_*
// settings that would change what the servers do.
func benchEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHFLOW_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// readLine returns the child's next stdout line, waiting at most d.
func (c *child) readLine(d time.Duration) (string, error) {
	got := make(chan string, 1)
	go func() {
		if c.lines.Scan() {
			got <- c.lines.Text()
		}
		close(got)
	}()
	select {
	case line, ok := <-got:
		if !ok {
			return "", fmt.Errorf("%s closed its output; its log %s says:\n%s", c.name, c.log, tail(c.log))
		}
		return line, nil
	case <-time.After(d):
		return "", fmt.Errorf("%s said nothing within %s; its log %s says:\n%s", c.name, d, c.log, tail(c.log))
	}
}

// expect reads the child's next line and returns what follows prefix.
func (c *child) expect(prefix string, d time.Duration) (string, error) {
	line, err := c.readLine(d)
	if err != nil {
		return "", err
	}
	v, ok := strings.CutPrefix(line, prefix+" ")
	if !ok {
		return "", fmt.Errorf("%s: %q, want %s ...", c.name, line, prefix)
	}
	return v, nil
}

// stopAll ends every child: SIGTERM, and SIGKILL after 5 s.
func (ps *processes) stopAll() {
	for _, c := range ps.list {
		if c.stdin != nil {
			c.stdin.Close()
		}
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range ps.list {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
		c.logf.Close()
	}
}

// alive fails when the child has exited.
func (c *child) alive() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited (%v); its log %s says:\n%s", c.name, c.err, c.log, tail(c.log))
	default:
		return nil
	}
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, the child exits, or d passes.
func waitHTTP(c *child, url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	client := &http.Client{Timeout: time.Second}
	for {
		if err := c.alive(); err != nil {
			return err
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s did not answer 200 within %s; its log %s says:\n%s", c.name, url, d, c.log, tail(c.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRedis pings addr until it answers or d passes.
func waitRedis(ctx context.Context, rc *redis.Client, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := rc.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis did not answer PING within %s: %w", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkVerify sends one verify request the way wrk will and wants a 200
// with an X-Auth-User header.
func checkVerify(t *target) error {
	req, err := http.NewRequest(http.MethodGet, t.url, nil)
	if err != nil {
		return err
	}
	if name, value, ok := strings.Cut(t.header, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Auth-User") == "" {
		return fmt.Errorf("%s: GET %s: %s, X-Auth-User %q; want 200 with the user", t.name, t.url, resp.Status, resp.Header.Get("X-Auth-User"))
	}
	return nil
}

// itoa is strconv.Itoa, for argument lists.
func itoa(n int) string { return strconv.Itoa(n) }
