package engine_test

import (
	"os"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// BenchmarkAuthCodeURL is the per-redirect cost of building the authorize
// URL (template expansion, query escaping, state/nonce/PKCE parameters) for
// one login made beforehand.
func BenchmarkAuthCodeURL(b *testing.B) {
	p := newIDP(b)
	s := p.strategy(b, oidcFile(authPost))
	l := s.NewLogin()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AuthCodeURL(l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeRS256 is a whole callback: state check, the token
// exchange over loopback HTTP to the test IdP, and RS256 verification of
// the ID token with the key set cached (fetched during a warm-up run before
// the timer starts). The IdP runs in benchmark mode: the code stays valid
// and its answer (with the signed ID token) is made once, so the figure is
// the engine's work plus one loopback round trip, not the IdP's signing.
func BenchmarkExchangeRS256(b *testing.B) {
	p := newIDP(b)
	p.update(func(c *idpConfig) { c.reuseCodes = true })
	s := p.strategy(b, stratFile("", tokenStep(authPost), jwtStepJWKS))
	l, cb := p.begin(b, s)
	if _, err := s.Exchange(b.Context(), l, cb); err != nil {
		b.Fatalf("warm-up Exchange: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Exchange(b.Context(), l, cb)
		if err != nil {
			b.Fatal(err)
		}
		if res.Tokens.AccessToken == "" {
			b.Fatal("no access token")
		}
	}
	if n := p.jwksHits.Load(); n != 1 {
		b.Errorf("JWKS fetched %d times, want 1 (cached)", n)
	}
}

// BenchmarkLoadCompile is the start-up (and reload) cost of a strategy
// file: testdata/builtins.json (every built-in, merged with the catalogue)
// read, checked and compiled into a plan, then bound into an engine.
func BenchmarkLoadCompile(b *testing.B) {
	data, err := os.ReadFile("../testdata/builtins.json")
	if err != nil {
		b.Fatal(err)
	}
	env := func(string) (string, bool) { return "secret", true }
	b.ReportAllocs()
	for b.Loop() {
		plan, err := strategies.Parse("builtins.json", data)
		if err != nil {
			b.Fatal(err)
		}
		e, err := engine.New(plan, engine.Options{LookupEnv: env, HTTPClient: builtinsDiscovery()})
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}
