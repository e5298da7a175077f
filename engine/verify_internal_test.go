package engine

import (
	"slices"
	"testing"
)

// TestAllowedOnly: a verifier keeps only the algorithms strategies allows,
// whatever list it is given: never none, never HMAC.
func TestAllowedOnly(t *testing.T) {
	t.Parallel()
	got := allowedOnly([]string{"HS256", "none", "RS256", "hs512", "EdDSA", ""})
	if want := []string{"RS256", "EdDSA"}; !slices.Equal(got, want) {
		t.Errorf("allowedOnly = %v, want %v", got, want)
	}
}
