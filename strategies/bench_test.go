package strategies

import (
	"os"
	"testing"
)

// BenchmarkParseBuiltins is the cost of loading testdata/builtins.json:
// every built-in merged with the catalogue, checked and compiled into a
// plan.
func BenchmarkParseBuiltins(b *testing.B) {
	data, err := os.ReadFile("../testdata/builtins.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("builtins.json", data); err != nil {
			b.Fatal(err)
		}
	}
}
