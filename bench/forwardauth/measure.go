package main

import (
	"context"
	"fmt"
)

// sample is one target's numbers in one round.
type sample struct {
	Round  int    `json:"round"`
	Target string `json:"target"`
	// The throughput run, at cfg.connections.
	Requests     int64   `json:"requests"`
	RPS          float64 `json:"rps"`
	CPUus        float64 `json:"server_cpu_us_per_request"`
	RedisCPUus   float64 `json:"redis_cpu_us_per_request,omitempty"`
	SocketErrors int64   `json:"socket_errors,omitempty"`
	// The share of each pinned core that other processes took meanwhile
	// (0–1): anything above a few percent means the numbers are disturbed.
	ServerCoreOther float64 `json:"server_core_other_share"`
	ClientCoreOther float64 `json:"client_core_other_share"`
	// Redis commands per request during the throughput run, by name.
	RedisCalls    map[string]float64 `json:"redis_commands_per_request,omitempty"`
	RedisPerCheck float64            `json:"redis_commands_per_verify,omitempty"`
	// The latency run, at one connection.
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	LatencyRPS float64 `json:"latency_run_rps"`
}

// measurer runs the loads and reads the counters around them.
type measurer struct {
	cfg  config
	load *loader
	tick float64 // µs per clock tick
	// The server's and wrk's cores, or -1 when not pinned to one CPU each.
	serverCore, clientCore int
}

// newMeasurer returns a measurer running wrk with load.
func newMeasurer(cfg config, load *loader) *measurer {
	m := &measurer{cfg: cfg, load: load, tick: 1e6 / clockTicks(),
		serverCore: singleCPU(cfg.serverCPU), clientCore: singleCPU(cfg.clientCPU)}
	if m.serverCore == m.clientCore {
		m.serverCore, m.clientCore = -1, -1
	}
	return m
}

// rounds warms every target up, then runs cfg.rounds rounds, each target
// once per round, in the order of cfg.targets in even rounds and reversed
// in odd ones, so that drift (thermal, other tenants) falls on all alike.
func (m *measurer) rounds(ctx context.Context, b *bench) ([]sample, error) {
	for _, name := range m.cfg.targets {
		progress("warming up %s for %s", name, m.cfg.warmup)
		if _, err := m.load.run(ctx, b.targets[name].url, b.targets[name].header, m.cfg.connections, m.cfg.warmup); err != nil {
			return nil, err
		}
	}
	var out []sample
	for r := 0; r < m.cfg.rounds; r++ {
		for _, name := range roundOrder(m.cfg.targets, r) {
			s, err := m.measure(ctx, b.targets[name])
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", r+1, name, err)
			}
			s.Round = r + 1
			progress("round %d/%d %-6s %8.0f req/s  %6.1f µs CPU/req  p50 %5.0f µs  p99 %5.0f µs  others on server core %3.0f%%, on wrk's %3.0f%%",
				r+1, m.cfg.rounds, name, s.RPS, s.CPUus, s.P50us, s.P99us, 100*s.ServerCoreOther, 100*s.ClientCoreOther)
			out = append(out, s)
		}
	}
	return out, nil
}

// roundOrder is targets in round r's order.
func roundOrder(targets []string, r int) []string {
	order := append([]string(nil), targets...)
	if r%2 == 1 {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	return order
}

// counters are what is read before and after a throughput run.
type counters struct {
	server, redis int64 // CPU ticks
	calls         map[string]int64
	// The pinned cores' ticks, when each is one CPU.
	serverCore, clientCore coreTicks
}

func (m *measurer) read(ctx context.Context, t *target) (counters, error) {
	var c counters
	var err error
	if m.serverCore >= 0 {
		if c.serverCore, err = readCore(m.serverCore); err != nil {
			return c, err
		}
	}
	if m.clientCore >= 0 {
		if c.clientCore, err = readCore(m.clientCore); err != nil {
			return c, err
		}
	}
	if c.server, err = cpuTicks(t.pid); err != nil {
		return c, fmt.Errorf("%s server: %w", t.name, err)
	}
	if t.redis == nil {
		return c, nil
	}
	if c.redis, err = cpuTicks(t.redisPID); err != nil {
		return c, fmt.Errorf("redis-server: %w", err)
	}
	c.calls, err = commandCalls(ctx, t.redis)
	return c, err
}

// measure runs target t once: throughput with the counters around it, then
// latency at one connection.
func (m *measurer) measure(ctx context.Context, t *target) (sample, error) {
	s := sample{Target: t.name}
	before, err := m.read(ctx, t)
	if err != nil {
		return s, err
	}
	tp, err := m.load.run(ctx, t.url, t.header, m.cfg.connections, m.cfg.duration)
	if err != nil {
		return s, err
	}
	after, err := m.read(ctx, t)
	if err != nil {
		return s, err
	}
	if err := checkRun(t.name, tp); err != nil {
		return s, err
	}
	n := float64(tp.Requests)
	s.Requests, s.RPS, s.SocketErrors = tp.Requests, tp.RPS(), tp.socketErrors()
	serverTicks, redisTicks := float64(after.server-before.server), float64(after.redis-before.redis)
	s.CPUus = serverTicks * m.tick / n
	if m.serverCore >= 0 {
		s.ServerCoreOther = otherShare(before.serverCore, after.serverCore, serverTicks+redisTicks)
		s.ClientCoreOther = otherShare(before.clientCore, after.clientCore, float64(tp.cpu.Microseconds())/m.tick)
	}
	if t.redis != nil {
		s.RedisCPUus = redisTicks * m.tick / n
		s.RedisCalls = map[string]float64{}
		for name, calls := range callsSince(before.calls, after.calls) {
			s.RedisCalls[name] = float64(calls) / n
			s.RedisPerCheck += float64(calls) / n
		}
	}

	lat, err := m.load.run(ctx, t.url, t.header, 1, m.cfg.latencyDuration)
	if err != nil {
		return s, err
	}
	if err := checkRun(t.name, lat); err != nil {
		return s, err
	}
	s.P50us, s.P99us, s.LatencyRPS = lat.P50US, lat.P99US, lat.RPS()
	return s, nil
}

// checkRun refuses a run with answers other than 2xx/3xx (a lost session
// would measure 401s) or without requests, and warns of socket errors.
func checkRun(name string, r wrkResult) error {
	if r.StatusErrors > 0 {
		return fmt.Errorf("%s: %d of %d answers had a status of 400 or more", name, r.StatusErrors, r.Requests)
	}
	if r.Requests == 0 {
		return fmt.Errorf("%s: wrk made no requests", name)
	}
	if e := r.socketErrors(); e > 0 {
		progress("warning: %s: %d socket errors in %d requests", name, e, r.Requests)
	}
	return nil
}
