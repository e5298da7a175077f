package server

import (
	"log/slog"
	"os"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/strategies"
)

// benchVerifyUpstreamJWT is BenchmarkVerify/upstream_jwt: the memory
// store's plain check with Config.UpstreamJWT off and on, side by side in
// one run (SPEC §7's goal: on ≤ 1.2× off, the token cache warm). Each
// server has its own store and one session; the first request of "on"
// signs, the rest reuse the cached token.
func benchVerifyUpstreamJWT(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			m := store.NewMemory(store.MemoryOptions{})
			b.Cleanup(func() { m.Close() })
			s := benchServerConfig(b, Config{BaseURI: "https://app.example.com", Store: m,
				UpstreamJWT: UpstreamJWT{Enabled: on}})
			cookie := benchLogin(b, s)
			runVerify(b, s, cookie, "/auth/verify")
			if on && s.upstream.cache.len() != 1 {
				b.Errorf("token cache holds %d tokens, want 1", s.upstream.cache.len())
			}
		})
	}
}

// benchServerConfig is benchServer with cfg.
func benchServerConfig(b testing.TB, cfg Config) *Server {
	b.Helper()
	data, err := os.ReadFile("../testdata/spec_example.json")
	if err != nil {
		b.Fatal(err)
	}
	set, err := strategies.Parse("spec_example.json", data)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(set, engine.Options{LookupEnv: func(string) (string, bool) { return "secret", true }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Close)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler) // the ephemeral key's warning
	}
	s, err := New(eng, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
