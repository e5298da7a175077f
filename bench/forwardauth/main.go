// Command forwardauth is authflow's forward-auth load benchmark: on one
// machine, in alternating rounds, it loads three servers with wrk and
// compares them.
//
//	floor   a bare net/http handler answering 200 with an X-Auth-User header
//	memory  `authflow serve` GET /auth/verify, sessions in memory
//	redis   `authflow serve` GET /auth/verify, sessions in Redis
//	bearer  `authflow serve` GET /auth/verify with an API client's JWT
//	        access token (Authorization: Bearer), its verification cached
//
// Each server is its own process pinned to one core (taskset), wrk to the
// other. The authflow servers are the real binary, signed in once through
// a real login at a development IdP (package devidp, run as a child of the
// bench). For each target and round it measures requests per second at 64
// connections, the server's CPU per request (utime+stime from
// /proc/PID/stat; redis-server's separately), p50 and p99 latency at one
// connection, and for Redis the commands per verify (INFO commandstats).
// It prints medians over the rounds and their ratios to the floor as a
// markdown table. See the README, "Forward-auth load benchmark".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	rounds          int
	duration        time.Duration // of each throughput run
	latencyDuration time.Duration // of each one-connection run
	warmup          time.Duration
	connections     int
	targets         []string
	serverCPU       string
	clientCPU       string
	authflow        string
	redis           string
	jsonPath        string
	dir             string // scratch directory for logs, binaries, files
}

func (c config) has(name string) bool {
	for _, t := range c.targets {
		if t == name {
			return true
		}
	}
	return false
}

// allTargets are the targets in their order of the report.
var allTargets = []string{"floor", "memory", "memory-jwt", "redis", "bearer"}

// authflowTargets are the targets that run authflow.
var authflowTargets = []string{"memory", "memory-jwt", "redis", "bearer"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(childMain(os.Args[2:]))
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "forwardauth:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "forwardauth:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("forwardauth", flag.ContinueOnError)
	fs.IntVar(&c.rounds, "rounds", 10, "alternating rounds; each runs every target once")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "length of each throughput run (wrk at -connections)")
	fs.DurationVar(&c.latencyDuration, "latency-duration", 3*time.Second, "length of each latency run (wrk at one connection)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured load on each target before the first round")
	fs.IntVar(&c.connections, "connections", 64, "wrk connections of the throughput runs")
	targets := fs.String("targets", strings.Join(allTargets, ","), "targets to run, comma-separated: floor, memory, memory-jwt, redis, bearer")
	fs.StringVar(&c.serverCPU, "server-cpu", "0", "CPU (taskset list) of the servers and redis-server; \"\" unpinned")
	fs.StringVar(&c.clientCPU, "client-cpu", "1", "CPU (taskset list) of wrk and the IdP; \"\" unpinned")
	fs.StringVar(&c.authflow, "authflow", "", "authflow binary (default: go build ./cmd/authflow)")
	fs.StringVar(&c.redis, "redis", "", "HOST:PORT of a running Redis to use (default: start an own redis-server on a free port)")
	fs.StringVar(&c.jsonPath, "json", "", "also write every round's numbers and the summary as JSON to this file (- for stdout, instead of the table)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: forwardauth [flags]\n\nforward-auth load benchmark: floor vs authflow /auth/verify (memory, Redis).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, t := range strings.Split(*targets, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !contains(allTargets, t) {
			return c, fmt.Errorf("-targets: %q is not floor, memory, memory-jwt, redis or bearer", t)
		}
		if !contains(c.targets, t) {
			c.targets = append(c.targets, t)
		}
	}
	switch {
	case len(c.targets) == 0:
		return c, fmt.Errorf("-targets: none")
	case c.rounds < 1:
		return c, fmt.Errorf("-rounds: want 1 or more")
	case c.duration < time.Second || c.latencyDuration < time.Second:
		return c, fmt.Errorf("-duration and -latency-duration: want 1s or more")
	case c.connections < 1:
		return c, fmt.Errorf("-connections: want 1 or more")
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// run sets the bench up, runs the rounds and prints the report. It stops
// by itself: every wrk run is bounded, and so is the whole run.
func run(cfg config) error {
	if err := checkTools(&cfg); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "forwardauth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.dir = dir

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*cfg.estimate()+5*time.Minute)
	defer cancel()

	b := &bench{cfg: cfg, procs: &processes{dir: dir}, targets: map[string]*target{}}
	defer b.procs.stopAll()
	progress("starting targets %s (server CPU %q, wrk CPU %q); about %s of load",
		strings.Join(cfg.targets, ", "), cfg.serverCPU, cfg.clientCPU, cfg.estimate().Round(time.Second))
	if err := setUp(ctx, cfg, b); err != nil {
		return err
	}
	load, err := newLoader(dir, cfg.clientCPU)
	if err != nil {
		return err
	}
	m := newMeasurer(cfg, load)
	samples, err := m.rounds(ctx, b)
	if err != nil {
		return err
	}
	rep := summarize(cfg, b, samples)
	return rep.write(os.Stdout, cfg.jsonPath)
}

// estimate is how long the loads take in all.
func (c config) estimate() time.Duration {
	n := time.Duration(len(c.targets))
	return n*c.warmup + time.Duration(c.rounds)*n*(c.duration+c.latencyDuration)
}

// checkTools finds wrk and taskset; without taskset, or with one CPU,
// nothing is pinned.
func checkTools(cfg *config) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: apt-get install -y wrk (bench/forwardauth/run.sh installs it)")
	}
	if cfg.serverCPU == "" && cfg.clientCPU == "" {
		return nil
	}
	if _, err := exec.LookPath("taskset"); err != nil || runtime.NumCPU() < 2 {
		progress("warning: no taskset or fewer than 2 CPUs: nothing is pinned")
		cfg.serverCPU, cfg.clientCPU = "", ""
	}
	return nil
}

// progress prints a progress line on stderr; stdout has only the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "forwardauth: "+format+"\n", args...)
}
