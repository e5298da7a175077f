package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	t.Parallel()
	// A command name with spaces and parentheses; utime 1234, stime 56.
	stat := "4242 (auth (flow) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 8 0 100 0 0"
	got, err := parseStatTicks(stat)
	if err != nil || got != 1290 {
		t.Fatalf("parseStatTicks = %d, %v; want 1290", got, err)
	}
	if _, err := parseStatTicks("4242 (short) S 1"); err == nil {
		t.Error("a short line parsed")
	}
}

func TestParseCoreTicks(t *testing.T) {
	t.Parallel()
	stat := "cpu  10 0 10 100 0 0 0 0 0 0\n" +
		"cpu0 100 5 50 1000 20 1 4 0 0 0\n" +
		"cpu1 7 0 3 90 0 0 0 0 0 0\n"
	got, err := parseCoreTicks(stat, 0)
	if want := (coreTicks{busy: 160, total: 1180}); err != nil || got != want {
		t.Errorf("cpu0 = %+v, %v; want %+v", got, err, want)
	}
	if got, _ := parseCoreTicks(stat, 1); got != (coreTicks{busy: 10, total: 100}) {
		t.Errorf("cpu1 = %+v", got)
	}
	if _, err := parseCoreTicks(stat, 2); err == nil {
		t.Error("cpu2 found")
	}
	// 100 ticks passed, 80 busy, 60 of them ours: others took 20%.
	if got := otherShare(coreTicks{0, 0}, coreTicks{80, 100}, 60); got != 0.2 {
		t.Errorf("otherShare = %v, want 0.2", got)
	}
	if got := otherShare(coreTicks{0, 0}, coreTicks{50, 100}, 60); got != 0 {
		t.Errorf("otherShare with more of ours than busy = %v, want 0", got)
	}
	if singleCPU("1") != 1 || singleCPU("0-1") != -1 || singleCPU("") != -1 {
		t.Error("singleCPU")
	}
}

func TestCPUTicksOfSelf(t *testing.T) {
	t.Parallel()
	if _, err := cpuTicks(1); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
}

func TestParseCommandStats(t *testing.T) {
	t.Parallel()
	text := "# Commandstats\r\n" +
		"cmdstat_get:calls=12,usec=40,usec_per_call=3.33,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|setinfo:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=5,usec=100,usec_per_call=20.00,rejected_calls=0,failed_calls=0\r\n"
	got := parseCommandStats(text)
	want := map[string]int64{"get": 12, "client|setinfo": 2, "info": 5}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseCommandStats = %v, want %v", got, want)
	}
	d := callsSince(map[string]int64{"get": 2, "client|setinfo": 2}, got)
	if want := map[string]int64{"get": 10, "info": 5}; !reflect.DeepEqual(d, want) {
		t.Errorf("callsSince = %v, want %v", d, want)
	}
}

func TestParseWrk(t *testing.T) {
	t.Parallel()
	out := "Running 5s test @ http://127.0.0.1:1/auth/verify\n  1 threads and 64 connections\n" +
		`WRKJSON {"requests":200000,"duration_us":5000000,"p50_us":45,"p99_us":120,"connect_errors":0,"read_errors":1,"write_errors":0,"status_errors":0,"timeouts":2}` + "\n"
	r, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 200000 || r.RPS() != 40000 || r.P50US != 45 || r.P99US != 120 || r.socketErrors() != 3 {
		t.Errorf("parseWrk = %+v (rps %v)", r, r.RPS())
	}
	if _, err := parseWrk([]byte("wrk: no summary\n")); err == nil {
		t.Error("output without a summary line parsed")
	}
}

func TestWrkDuration(t *testing.T) {
	t.Parallel()
	if got := wrkDuration(5 * time.Second); got != "5s" {
		t.Errorf("wrkDuration(5s) = %q", got)
	}
	if got := wrkDuration(1500 * time.Millisecond); got != "1500ms" {
		t.Errorf("wrkDuration(1.5s) = %q", got)
	}
}

func TestRoundOrderAlternates(t *testing.T) {
	t.Parallel()
	targets := []string{"floor", "memory", "redis"}
	if got := roundOrder(targets, 0); !reflect.DeepEqual(got, targets) {
		t.Errorf("round 0: %v", got)
	}
	if got := roundOrder(targets, 1); !reflect.DeepEqual(got, []string{"redis", "memory", "floor"}) {
		t.Errorf("round 1: %v", got)
	}
	if targets[0] != "floor" {
		t.Error("roundOrder changed its argument")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Ratios are taken within each round, then the median over rounds: a
// round where everything ran slower does not move them.
func TestSummarizeRatiosPerRound(t *testing.T) {
	t.Parallel()
	floor := map[int]sample{
		1: {Round: 1, Target: "floor", RPS: 40000, CPUus: 20, P50us: 50, P99us: 100},
		2: {Round: 2, Target: "floor", RPS: 20000, CPUus: 40, P50us: 100, P99us: 200},
	}
	mine := []sample{
		{Round: 1, Target: "memory", RPS: 20000, CPUus: 60, P50us: 75, P99us: 150},
		{Round: 2, Target: "memory", RPS: 10000, CPUus: 120, P50us: 150, P99us: 300},
	}
	s := summarizeTarget("memory", mine, floor)
	want := ratios{CPU: 3, RPS: 0.5, P50: 1.5, P99: 1.5}
	if s.Ratios == nil || *s.Ratios != want {
		t.Fatalf("ratios = %+v, want %+v", s.Ratios, want)
	}
	if s.RPSMin != 10000 || s.RPSMax != 20000 || s.CPUus != 90 {
		t.Errorf("summary = %+v", s)
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	rep := report{Rounds: 1, Duration: "5s", LatencyDuration: "3s", Connections: 64, ServerCPU: "0", ClientCPU: "1",
		Redis: "own redis-server", Summary: []summary{
			{Target: "floor", RPS: 39812, CPUus: 23.7, Ratios: &ratios{1, 1, 1, 1}},
			{Target: "redis", RPS: 10000, CPUus: 60, RedisCPUus: 18, Ratios: &ratios{2.5, 0.25, 2, 3},
				RedisPerVerify: 2, RedisCommands: map[string]float64{"get": 2}},
		}}
	var b strings.Builder
	rep.markdown(&b)
	for _, want := range []string{"| floor | 39,812 | 23.7 | – |", "| 2.50× | 0.25× |", "Redis commands per verify: 2.00 (GET 2.00)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

func TestFloorHandler(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	floorHandler(rec, httptest.NewRequest(http.MethodGet, "/auth/verify", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("X-Auth-User") != floorUser || rec.Body.Len() != 0 {
		t.Errorf("floor: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	c, err := parseFlags([]string{"-rounds", "4", "-duration", "5s", "-targets", "redis,floor,redis"})
	if err != nil {
		t.Fatal(err)
	}
	if c.rounds != 4 || c.duration != 5*time.Second || !reflect.DeepEqual(c.targets, []string{"redis", "floor"}) {
		t.Errorf("parseFlags = %+v", c)
	}
	for _, bad := range [][]string{{"-targets", "nginx"}, {"-rounds", "0"}, {"-duration", "10ms"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) passed", bad)
		}
	}
}
