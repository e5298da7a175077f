package redisstore_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGetString is the session read of a forward-auth check, a GET of
// a 2.2 KB value, from 64 goroutines at once (as under wrk's 64
// connections), with the client settings Open uses and with variants of
// them. Beside ns/op it reports the client's CPU per read (cpu-µs/op, from
// getrusage), the figure bench/forwardauth's ratios are made of; run it
// with -cpu 1, as the load benchmark pins the server to one core.
func BenchmarkGetString(b *testing.B) {
	u := testredis.URL(b)
	value := strings.Repeat("h", 300) + "\n" + strings.Repeat("b", 1900)
	for _, v := range []struct {
		name  string
		mod   func(*redis.Options)
		head  int // read with GetHead of this many bytes; 0: GetString
		slots int // GetHead's round trips in flight; 0: the default
	}{
		{"open", nil, 0, 0},
		{"no-deadlines", func(o *redis.Options) { o.ReadTimeout, o.WriteTimeout = -1, -1 }, 0, 0},
		{"conn-check", func(o *redis.Options) { o.Dialer = nil }, 0, 0},
		{"pool-64", func(o *redis.Options) { o.PoolSize = 64 }, 0, 0},
		{"head-512", nil, 512, 0},
		// GetHead's batching with 1 and 4 round trips in flight (the
		// default is 2).
		{"head-512-slots-1", nil, 512, 1},
		{"head-512-slots-4", nil, 512, 4},
	} {
		b.Run(v.name, func(b *testing.B) {
			s := redisstore.OpenForBench(b, u, v.mod)
			if v.slots > 0 {
				redisstore.SetHeadSlots(s, v.slots)
			}
			ctx := context.Background()
			if ok, err := s.SetNew(ctx, "bench", []byte(value), time.Minute); err != nil || !ok {
				b.Fatal(ok, err)
			}
			b.Cleanup(func() { s.Delete(ctx, "bench") })
			b.SetParallelism(64)
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuTime(b)
			b.RunParallel(func(pb *testing.PB) {
				want := len(value)
				if v.head > 0 {
					want = v.head
				}
				for pb.Next() {
					var got string
					var err error
					if v.head > 0 {
						got, err = s.GetHead(ctx, "bench", v.head)
					} else {
						got, err = s.GetString(ctx, "bench")
					}
					if err != nil || len(got) != want {
						b.Errorf("read: %d bytes, %v", len(got), err)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}
