package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// cpuTicks returns the CPU time process pid has used so far, user plus
// system, in clock ticks (all its threads; children it waited for are not
// included).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads utime and stime, fields 14 and 15 of a
// /proc/PID/stat line (proc(5)). The command name, field 2, is in
// parentheses and may hold spaces, so fields are counted after its last ')'.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name in %.40q", stat)
	}
	// After ')' come field 3 (state), 4, ...: utime is the 12th of them.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the name, want 13 or more", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: utime %q stime %q", f[11], f[12])
	}
	return utime + stime, nil
}

// clockTicks returns the kernel's clock ticks per second (getconf CLK_TCK);
// 100 when getconf cannot tell, as on every Linux this runs on.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

// coreTicks are one CPU's busy and total clock ticks since boot.
type coreTicks struct{ busy, total int64 }

// readCore returns CPU cpu's line of /proc/stat.
func readCore(cpu int) (coreTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return coreTicks{}, err
	}
	return parseCoreTicks(string(b), cpu)
}

// parseCoreTicks reads the "cpuN user nice system idle iowait irq softirq
// steal ..." line of /proc/stat (proc(5)). Busy is all but idle and
// iowait; guest time is already counted in user.
func parseCoreTicks(stat string, cpu int) (coreTicks, error) {
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for _, line := range strings.Split(stat, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)[1:]
		if len(f) < 8 {
			return coreTicks{}, fmt.Errorf("/proc/stat: short line %q", line)
		}
		var v [8]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				return coreTicks{}, fmt.Errorf("/proc/stat: %q", line)
			}
			v[i] = n
		}
		idle := v[3] + v[4]
		busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		return coreTicks{busy: busy, total: busy + idle}, nil
	}
	return coreTicks{}, fmt.Errorf("/proc/stat: no cpu%d", cpu)
}

// singleCPU returns the CPU of a taskset list naming exactly one ("1"),
// or -1.
func singleCPU(list string) int {
	n, err := strconv.Atoi(list)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// otherShare is the share (0–1) of a core's time in a window that went to
// processes other than ours: busy ticks less ours, over all ticks; 0 when
// unknown.
func otherShare(before, after coreTicks, oursTicks float64) float64 {
	total := float64(after.total - before.total)
	if total <= 0 {
		return 0
	}
	return max(0, (float64(after.busy-before.busy)-oursTicks)/total)
}
