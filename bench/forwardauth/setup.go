package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// strategyFile is the authflow strategy file of the bench, {{ISSUER}}
// standing for the IdP's URL: a confidential client with the steps a real
// deployment has (token, ID token, userinfo, refresh, revoke), so that the
// session record is of a realistic size.
const strategyFile = `{
  "strategies": {
    "bench": {
      "label": "Bench IdP",
      "idp": "{{ISSUER}}",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "bench",
      "client_secret": "${env.BENCH_CLIENT_SECRET}",
      "scope": "openid email profile groups offline_access",
      "claims": { "email": "email", "name": "name", "groups": "groups" },
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" },
        { "name": "userinfo", "uri": "${idp}/userinfo",
          "config": { "headers": { "Authorization": "Bearer ${token.access_token}" } } },
        { "name": "refresh", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "refresh_token", "refresh_token": "${refresh_token}" } },
        { "name": "revoke", "uri": "${idp}/revoke", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "token": "${refresh_token}", "token_type_hint": "refresh_token" } }
      ]
    }
  }
}`

// bearerKeys turn the bench strategy's bearer tokens on for the bearer
// target: the JWT access tokens the IdP issues the API client
// (benchAPIClient), verified with the jwt step's keys.
const bearerKeys = `"bearer": {"audience": "` + benchAPIClient + `"},`

// bench holds what the set-up started.
type bench struct {
	cfg     config
	procs   *processes
	targets map[string]*target
	// Where the Redis target's Redis came from, and the Go and commit that
	// built the authflow binary, for the report.
	redisNote                  string
	authflowGo, authflowCommit string
}

// setUp starts every process the chosen targets need and signs a user in
// at each authflow. The caller stops b.procs in the end, even on error.
func setUp(ctx context.Context, cfg config, b *bench) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	authflow, err := authflowBinary(ctx, cfg)
	if err != nil {
		return err
	}
	b.authflowGo, b.authflowCommit = buildInfo(authflow)
	secret := randomSecret()
	env := []string{secretEnv + "=" + secret}

	// authflow's addresses are picked first: the IdP registers their
	// callback URLs.
	ports := map[string]int{}
	var redirects []string
	for _, name := range authflowTargets {
		if cfg.has(name) {
			p, err := freePort()
			if err != nil {
				return err
			}
			ports[name] = p
			redirects = append(redirects, fmt.Sprintf("http://127.0.0.1:%d/auth/bench/callback", p))
		}
	}

	var idp *child
	if len(ports) > 0 {
		// The IdP is idle while loads run; it shares the load generator's core.
		idp, err = b.procs.start("idp", cfg.clientCPU, env, true, self, "child", "idp", "-redirect", strings.Join(redirects, ","))
		if err != nil {
			return err
		}
		issuer, err := idp.expect("ISSUER", 30*time.Second)
		if err != nil {
			return err
		}
		if err := writeStrategies(b.procs.dir, issuer); err != nil {
			return err
		}
	}
	if cfg.has("floor") {
		if err := startFloor(b, self); err != nil {
			return err
		}
	}
	for _, name := range authflowTargets {
		if ports[name] == 0 {
			continue
		}
		t, err := startAuthflow(ctx, b, authflow, name, ports[name], env)
		if err != nil {
			return err
		}
		if name == "bearer" {
			if err := apiToken(idp, t); err != nil {
				return err
			}
			continue
		}
		if err := signIn(idp, t); err != nil {
			return err
		}
	}
	for _, t := range b.targets {
		if err := checkVerify(t); err != nil {
			return err
		}
	}
	return nil
}

// authflowBinary returns cfg.authflow, or builds ./cmd/authflow of the
// module in the working directory into the bench's directory.
func authflowBinary(ctx context.Context, cfg config) (string, error) {
	if cfg.authflow != "" {
		return filepath.Abs(cfg.authflow)
	}
	out := filepath.Join(cfg.dir, "authflow")
	progress("building ./cmd/authflow")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/authflow")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/authflow (run from the repository root, or pass -authflow): %w", err)
	}
	return out, nil
}

// buildInfo returns the Go version that built binary and the commit it
// was built from (vcs.revision, "+dirty" with local changes), from
// "go version -m BINARY"; each "" when the binary does not say.
func buildInfo(binary string) (goVersion, revision string) {
	out, err := exec.Command("go", "version", "-m", binary).Output()
	if err != nil {
		return "", ""
	}
	lines := strings.Split(string(out), "\n")
	_, goVersion, _ = strings.Cut(strings.TrimSpace(lines[0]), ": ")
	dirty := false
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "build" {
			continue
		}
		if v, ok := strings.CutPrefix(f[1], "vcs.revision="); ok && len(v) >= 7 {
			revision = v[:7]
		}
		dirty = dirty || f[1] == "vcs.modified=true"
	}
	if revision != "" && dirty {
		revision += "+dirty"
	}
	return goVersion, revision
}

// strategiesPath is where writeStrategies puts the file: a directory of its
// own, since authflow watches the file's directory for changes.
func strategiesPath(dir string) string { return filepath.Join(dir, "strategies", "strategies.json") }

// bearerStrategiesPath is the bearer target's file: the same strategy,
// taking bearer tokens.
func bearerStrategiesPath(dir string) string {
	return filepath.Join(dir, "strategies-bearer", "strategies.json")
}

func writeStrategies(dir, issuer string) error {
	file := strings.ReplaceAll(strategyFile, "{{ISSUER}}", issuer)
	bearer := strings.Replace(file, `"label": "Bench IdP",`, `"label": "Bench IdP", `+bearerKeys, 1)
	for path, content := range map[string]string{strategiesPath(dir): file, bearerStrategiesPath(dir): bearer} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startFloor starts the floor on the server core.
func startFloor(b *bench, self string) error {
	c, err := b.procs.start("floor", b.cfg.serverCPU, nil, true, self, "child", "floor")
	if err != nil {
		return err
	}
	addr, err := c.expect("ADDR", 30*time.Second)
	if err != nil {
		return err
	}
	b.targets["floor"] = &target{name: "floor", url: "http://" + addr + "/auth/verify", pid: c.cmd.Process.Pid}
	return nil
}

// startAuthflow runs `authflow serve` on the server core, over the memory
// store (memory; memory-jwt with upstream_jwt.enabled, so that each check
// also carries an authflow-signed X-Auth-Token) or over Redis, with the
// defaults but for plain-http cookies and quieter logs.
func startAuthflow(ctx context.Context, b *bench, bin, name string, port int, env []string) (*target, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	file := strategiesPath(b.procs.dir)
	if name == "bearer" {
		file = bearerStrategiesPath(b.procs.dir)
	}
	args := []string{bin, "serve", "--strategies", file, "--addr", addr,
		"--cookie-secure=false", "--log-level", "warn"}
	t := &target{name: name, url: "http://" + addr + "/auth/verify"}
	if name == "memory-jwt" {
		args = append(args, "--upstream-jwt-enabled")
	}
	if name == "redis" {
		url, err := startRedis(ctx, b, t)
		if err != nil {
			return nil, err
		}
		args = append(args, "--session-store", "redis", "--session-redis-url", url)
	}
	c, err := b.procs.start("authflow-"+name, b.cfg.serverCPU, env, false, args...)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(c, "http://"+addr+"/healthz", 30*time.Second); err != nil {
		return nil, err
	}
	t.pid = c.cmd.Process.Pid
	b.targets[name] = t
	return t, nil
}

// startRedis sets t.redis and t.redisPID and returns the Redis URL for
// authflow: the Redis at cfg.redis, or a redis-server of the bench's own on
// a free port, pinned to the server core (it is the server's work too). An
// own one is the default: its command counts and CPU are the bench's alone.
func startRedis(ctx context.Context, b *bench, t *target) (string, error) {
	addr := b.cfg.redis
	if addr == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			return "", fmt.Errorf("no redis-server on PATH (apt-get install redis-server) and no -redis given")
		}
		port, err := freePort()
		if err != nil {
			return "", err
		}
		if _, err := b.procs.start("redis-server", b.cfg.serverCPU, nil, false, "redis-server",
			"--port", itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--dir", b.procs.dir); err != nil {
			return "", err
		}
		addr = fmt.Sprintf("127.0.0.1:%d", port)
		b.redisNote = "own redis-server on " + addr + ", pinned with the server"
	} else {
		b.redisNote = "the Redis at " + addr + " (shared: other clients' commands and CPU count too)"
	}
	t.redis = redis.NewClient(&redis.Options{Addr: addr})
	if err := waitRedis(ctx, t.redis, 10*time.Second); err != nil {
		return "", err
	}
	pid, err := redisPID(ctx, t.redis)
	if err != nil {
		return "", err
	}
	t.redisPID = pid
	return "redis://" + addr + "/0", nil
}

// apiToken has the IdP child issue the API client a JWT access token (a
// real code flow at the IdP) and sets t's Authorization header from it.
func apiToken(idp *child, t *target) error {
	if _, err := fmt.Fprintln(idp.stdin, "TOKEN"); err != nil {
		return err
	}
	line, err := idp.readLine(60 * time.Second)
	if err != nil {
		return err
	}
	tok, ok := strings.CutPrefix(line, "TOKEN ")
	if !ok {
		return fmt.Errorf("API token for %s: %s", t.name, line)
	}
	t.header = "Authorization: Bearer " + tok
	return nil
}

// signIn has the IdP child run a real login at t's authflow and sets t's
// Cookie header from the session cookie it got.
func signIn(idp *child, t *target) error {
	base := strings.TrimSuffix(t.url, "/auth/verify")
	if _, err := fmt.Fprintf(idp.stdin, "LOGIN %s\n", base); err != nil {
		return err
	}
	line, err := idp.readLine(60 * time.Second)
	if err != nil {
		return err
	}
	cookie, ok := strings.CutPrefix(line, "COOKIE ")
	if !ok {
		return fmt.Errorf("login at %s (%s): %s", t.name, base, line)
	}
	t.header = "Cookie: " + cookie
	return nil
}
