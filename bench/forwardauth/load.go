package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes wrk print its summary as one JSON line at the end
// (done() runs once, after every thread stopped). wrk keeps latencies in
// microseconds; errors.status counts answers with a status above 399.
const wrkScript = `
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
`

// wrkResult is one wrk run's summary.
type wrkResult struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	P50US         float64 `json:"p50_us"`
	P99US         float64 `json:"p99_us"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"`
	Timeouts      int64   `json:"timeouts"`
	// cpu is the CPU time wrk itself used (user and system).
	cpu time.Duration
}

// RPS is the run's requests per second.
func (r wrkResult) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// socketErrors counts the requests that failed below HTTP.
func (r wrkResult) socketErrors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts
}

// loader runs wrk pinned to the load generator's core.
type loader struct {
	cpu    string // taskset CPU list; "" runs unpinned
	script string // path of wrkScript
}

// newLoader writes wrkScript into dir.
func newLoader(dir, cpu string) (*loader, error) {
	path := filepath.Join(dir, "summary.lua")
	if err := os.WriteFile(path, []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	return &loader{cpu: cpu, script: path}, nil
}

// run loads url for d with conns keep-alive connections on one wrk thread,
// sending header (e.g. "Cookie: ...") when not empty.
func (l *loader) run(ctx context.Context, url, header string, conns int, d time.Duration) (wrkResult, error) {
	args := []string{"wrk", "-t1", "-c" + strconv.Itoa(conns), "-d" + wrkDuration(d),
		"--timeout", "5s", "-s", l.script}
	if header != "" {
		args = append(args, "-H", header)
	}
	args = append(pinned(l.cpu, args), url)
	// wrk stops by itself after d; the deadline only guards against a hang.
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v: %s", url, err, bytes.TrimSpace(stderr.Bytes()))
	}
	r, err := parseWrk(out)
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, err
}

// wrkDuration formats d for wrk's -d, which takes whole seconds (or ms).
func wrkDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + "ms"
}

// parseWrk finds the WRKJSON line of wrk's output.
func parseWrk(out []byte) (wrkResult, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), "WRKJSON "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary %q: %w", j, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no summary line:\n%s", out)
}

// pinned prefixes args with taskset so that the command runs on cpu only.
func pinned(cpu string, args []string) []string {
	if cpu == "" {
		return args
	}
	return append([]string{"taskset", "-c", cpu}, args...)
}
