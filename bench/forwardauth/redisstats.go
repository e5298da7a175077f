package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// commandCalls returns INFO commandstats as calls per command name, e.g.
// {"get": 12, "evalsha": 3}. The bench's own INFO calls are left out.
func commandCalls(ctx context.Context, c *redis.Client) (map[string]int64, error) {
	text, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	calls := parseCommandStats(text)
	delete(calls, "info")
	return calls, nil
}

// parseCommandStats parses lines like
//
//	cmdstat_get:calls=2,usec=9,usec_per_call=4.50,rejected_calls=0,failed_calls=0
//
// into {"get": 2}. Subcommands keep their name ("client|setinfo").
func parseCommandStats(text string) map[string]int64 {
	calls := map[string]int64{}
	for _, line := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err == nil {
					calls[strings.TrimPrefix(name, "cmdstat_")] = n
				}
			}
		}
	}
	return calls
}

// callsSince returns after minus before per command, dropping zeros.
func callsSince(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for name, n := range after {
		if n -= before[name]; n != 0 {
			d[name] = n
		}
	}
	return d
}

// redisPID asks a Redis for its process id (INFO server, process_id).
func redisPID(ctx context.Context, c *redis.Client) (int, error) {
	text, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO server: %w", err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("redis INFO server: no process_id")
}
