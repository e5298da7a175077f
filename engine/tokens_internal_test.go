package engine

import (
	"testing"
	"time"
)

// TestTokenLifetimeDefensive: expires_in is read defensively. 9223372037 s
// used to overflow time.Duration and put the expiry in 1734; anything over
// ten years is now ten years, and nonsense is no expiry at all.
func TestTokenLifetimeDefensive(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		answer string
		want   time.Duration // 0: no expiry
	}{
		{`{"access_token":"a","expires_in":3600}`, time.Hour},
		{`{"access_token":"a","expires_in":"3600"}`, time.Hour},
		{`{"access_token":"a","expires_in":1.5}`, 1500 * time.Millisecond},
		{`{"access_token":"a","expires_in":9223372037}`, maxTokenLifetime},
		{`{"access_token":"a","expires_in":1e300}`, maxTokenLifetime},
		{`{"access_token":"a","expires_in":315360001}`, maxTokenLifetime},
		{`{"access_token":"a","expires_in":0}`, 0},
		{`{"access_token":"a","expires_in":-5}`, 0},
		{`{"access_token":"a","expires_in":"soon"}`, 0},
		{`{"access_token":"a","expires_in":true}`, 0},
		{`{"access_token":"a","expires_in":{"s":1}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			got := tokensFrom([]byte(tt.answer), Tokens{}, now)
			if tt.want == 0 {
				if !got.Expiry.IsZero() {
					t.Errorf("Expiry = %v, want none", got.Expiry)
				}
				return
			}
			if d := got.Expiry.Sub(now); d != tt.want || !got.Issued.Equal(now) {
				t.Errorf("Expiry = now + %v (issued %v), want now + %v", d, got.Issued, tt.want)
			}
		})
	}
}
