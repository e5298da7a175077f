package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// busyShare is the share of a pinned core taken by other processes above
// which the report warns that the machine was busy.
const busyShare = 0.05

// summary is one target's medians over the rounds.
type summary struct {
	Target     string  `json:"target"`
	RPS        float64 `json:"rps"`
	CPUus      float64 `json:"server_cpu_us_per_request"`
	RedisCPUus float64 `json:"redis_cpu_us_per_request,omitempty"`
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	// Spread over the rounds.
	RPSMin   float64 `json:"rps_min"`
	RPSMax   float64 `json:"rps_max"`
	CPUusMin float64 `json:"server_cpu_us_min"`
	CPUusMax float64 `json:"server_cpu_us_max"`
	// The share of the pinned cores other processes took (0–1), median
	// and maximum over the rounds.
	ServerCoreOther    float64 `json:"server_core_other_share"`
	ServerCoreOtherMax float64 `json:"server_core_other_share_max"`
	ClientCoreOther    float64 `json:"client_core_other_share"`
	ClientCoreOtherMax float64 `json:"client_core_other_share_max"`
	// Medians of each round's ratio to that round's floor; absent without
	// the floor.
	Ratios *ratios `json:"ratios_to_floor,omitempty"`
	// Redis target only.
	RedisPerVerify float64            `json:"redis_commands_per_verify,omitempty"`
	RedisCommands  map[string]float64 `json:"redis_commands_per_verify_by_name,omitempty"`
}

type ratios struct {
	CPU float64 `json:"cpu"`
	RPS float64 `json:"rps"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// report is the whole run.
type report struct {
	Date            time.Time `json:"date"`
	Go              string    `json:"go"`              // of the bench
	AuthflowGo      string    `json:"authflow_go"`     // that built the authflow binary
	Commit          string    `json:"authflow_commit"` // of the binary; else of the working tree, marked so
	Rounds          int       `json:"rounds"`
	Duration        string    `json:"duration"`
	LatencyDuration string    `json:"latency_duration"`
	Connections     int       `json:"connections"`
	ServerCPU       string    `json:"server_cpu"`
	ClientCPU       string    `json:"client_cpu"`
	Redis           string    `json:"redis,omitempty"`
	Summary         []summary `json:"summary"`
	Samples         []sample  `json:"samples"`
}

// summarize reduces the samples to medians and ratios per target.
func summarize(cfg config, b *bench, samples []sample) report {
	rep := report{Date: time.Now().UTC().Truncate(time.Second), Go: runtime.Version(), AuthflowGo: b.authflowGo, Commit: b.authflowCommit,
		Rounds: cfg.rounds, Duration: cfg.duration.String(), LatencyDuration: cfg.latencyDuration.String(),
		Connections: cfg.connections, ServerCPU: cfg.serverCPU, ClientCPU: cfg.clientCPU,
		Redis: b.redisNote, Samples: samples}
	if rep.Commit == "" {
		if c := commit(); c != "" {
			rep.Commit = "(working tree) " + c
		}
	}
	floor := map[int]sample{} // by round
	for _, s := range samples {
		if s.Target == "floor" {
			floor[s.Round] = s
		}
	}
	for _, name := range allTargets {
		var mine []sample
		for _, s := range samples {
			if s.Target == name {
				mine = append(mine, s)
			}
		}
		if len(mine) > 0 {
			rep.Summary = append(rep.Summary, summarizeTarget(name, mine, floor))
		}
	}
	return rep
}

// summarizeTarget is one target's summary; floor holds the floor's sample
// of each round, if the floor ran.
func summarizeTarget(name string, mine []sample, floor map[int]sample) summary {
	pick := func(f func(sample) float64) []float64 {
		v := make([]float64, 0, len(mine))
		for _, s := range mine {
			v = append(v, f(s))
		}
		return v
	}
	rps := pick(func(s sample) float64 { return s.RPS })
	cpu := pick(func(s sample) float64 { return s.CPUus })
	otherServer := pick(func(s sample) float64 { return s.ServerCoreOther })
	otherClient := pick(func(s sample) float64 { return s.ClientCoreOther })
	sum := summary{Target: name, RPS: median(rps), CPUus: median(cpu),
		RedisCPUus: median(pick(func(s sample) float64 { return s.RedisCPUus })),
		P50us:      median(pick(func(s sample) float64 { return s.P50us })),
		P99us:      median(pick(func(s sample) float64 { return s.P99us })),
		RPSMin:     minOf(rps), RPSMax: maxOf(rps), CPUusMin: minOf(cpu), CPUusMax: maxOf(cpu),
		ServerCoreOther: median(otherServer), ServerCoreOtherMax: maxOf(otherServer),
		ClientCoreOther: median(otherClient), ClientCoreOtherMax: maxOf(otherClient)}
	if len(floor) > 0 {
		ratio := func(f func(sample) float64) float64 {
			var v []float64
			for _, s := range mine {
				if fl, ok := floor[s.Round]; ok && f(fl) > 0 {
					v = append(v, f(s)/f(fl))
				}
			}
			return median(v)
		}
		sum.Ratios = &ratios{CPU: ratio(func(s sample) float64 { return s.CPUus }),
			RPS: ratio(func(s sample) float64 { return s.RPS }),
			P50: ratio(func(s sample) float64 { return s.P50us }),
			P99: ratio(func(s sample) float64 { return s.P99us })}
	}
	if mine[0].RedisCalls != nil {
		sum.RedisPerVerify = median(pick(func(s sample) float64 { return s.RedisPerCheck }))
		sum.RedisCommands = map[string]float64{}
		for _, s := range mine {
			for cmd := range s.RedisCalls {
				sum.RedisCommands[cmd] = 0
			}
		}
		for cmd := range sum.RedisCommands {
			sum.RedisCommands[cmd] = median(pick(func(s sample) float64 { return s.RedisCalls[cmd] }))
		}
	}
	return sum
}

// median of v (0 for none).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// commit names the working tree's commit, "+dirty" when it has changes;
// "" outside a git checkout.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

// write prints the markdown table on w, and the JSON to jsonPath when set
// ("-": the JSON on w instead of the table).
func (r report) write(w io.Writer, jsonPath string) error {
	if jsonPath == "-" {
		return writeJSON(w, r)
	}
	r.markdown(w)
	if jsonPath == "" {
		return nil
	}
	f, err := os.Create(jsonPath)
	if err != nil {
		return err
	}
	if err := writeJSON(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// markdown prints the report as a markdown table with a few lines of
// context and the Redis command count.
func (r report) markdown(w io.Writer) {
	fmt.Fprintf(w, "Forward-auth load benchmark, %s, authflow %s built with %s (bench %s)\n\n",
		r.Date.Format(time.RFC3339), r.Commit, r.AuthflowGo, r.Go)
	fmt.Fprintf(w, "%d rounds in alternating order; per target and round: %s at %d connections (req/s, CPU), %s at 1 connection (p50, p99). "+
		"Servers on CPU %s, wrk on CPU %s. Medians over rounds; ratios are medians of each round's ratio to that round's floor.\n\n",
		r.Rounds, r.Duration, r.Connections, r.LatencyDuration, cpuName(r.ServerCPU), cpuName(r.ClientCPU))
	fmt.Fprintln(w, "| target | req/s | server CPU µs/req | redis-server CPU µs/req | p50 µs | p99 µs | CPU × floor | req/s × floor | p50 × floor | p99 × floor |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, s := range r.Summary {
		redisCPU := "–"
		if s.RedisCommands != nil {
			redisCPU = fmt.Sprintf("%.1f", s.RedisCPUus)
		}
		ratio := "| – | – | – | –"
		if s.Ratios != nil {
			ratio = fmt.Sprintf("| %.2f× | %.2f× | %.2f× | %.2f×", s.Ratios.CPU, s.Ratios.RPS, s.Ratios.P50, s.Ratios.P99)
		}
		fmt.Fprintf(w, "| %s | %s | %.1f | %s | %.0f | %.0f %s |\n",
			s.Target, thousands(s.RPS), s.CPUus, redisCPU, s.P50us, s.P99us, ratio)
	}
	fmt.Fprintln(w, "\nSpread over the rounds (min–max), and the share of each pinned core that other processes took during the throughput runs (median / max):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | req/s | server CPU µs/req | others on server core | others on wrk's core |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	busiest := 0.0
	for _, s := range r.Summary {
		fmt.Fprintf(w, "| %s | %s–%s | %.1f–%.1f | %.0f%% / %.0f%% | %.0f%% / %.0f%% |\n", s.Target,
			thousands(s.RPSMin), thousands(s.RPSMax), s.CPUusMin, s.CPUusMax,
			100*s.ServerCoreOther, 100*s.ServerCoreOtherMax, 100*s.ClientCoreOther, 100*s.ClientCoreOtherMax)
		busiest = max(busiest, s.ServerCoreOtherMax, s.ClientCoreOtherMax)
	}
	if busiest > busyShare {
		fmt.Fprintf(w, "\n**The machine was busy**: other processes took up to %.0f%% of a pinned core. "+
			"These numbers are disturbed; compare ratios within this run only, or run again when the machine is quiet.\n", 100*busiest)
	}
	for _, s := range r.Summary {
		if s.RedisCommands != nil {
			fmt.Fprintf(w, "\nRedis commands per verify: %.2f (%s); %s.\n", s.RedisPerVerify, commandList(s.RedisCommands), r.Redis)
		}
	}
}

func cpuName(cpu string) string {
	if cpu == "" {
		return "(unpinned)"
	}
	return cpu
}

// commandList formats per-command counts, most frequent first.
func commandList(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", strings.ToUpper(n), m[n]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// thousands formats n rounded, with commas: 39812 → "39,812".
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
