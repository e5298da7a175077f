package server

import (
	"net/http/httptest"
	"testing"
)

func TestReturnTo(t *testing.T) {
	t.Parallel()
	s := &Server{origin: "https://app.example.com"}
	tests := []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/app?x=1&y=2", "/app?x=1&y=2"},
		{"/a%20b", "/a%20b"},
		{"https://app.example.com/dash?tab=2", "/dash?tab=2"},
		// open redirects
		{"https://evil.example/", ""},
		{"//evil.example/x", ""},
		{"///evil.example/x", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"https://app.example.com.evil.example/", ""},
		{"https://user@app.example.com/", ""},
		{"http://app.example.com/", ""}, // other scheme, other origin
		{"javascript:alert(1)", ""},
		{"data:text/html,x", ""},
		{"/ok\r\nSet-Cookie: x=1", ""},
		{"/\tevil", ""},
		{"relative/path", ""},
		{"https:evil.example", ""},
	}
	for _, tt := range tests {
		if got := s.returnTo(tt.in); got != tt.want {
			t.Errorf("returnTo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	s := &Server{origin: "https://app.example.com"}
	tests := []struct {
		name, origin, referer, site string
		want                        bool
	}{
		{"origin matches", "https://app.example.com", "", "", true},
		{"origin differs", "https://evil.example", "https://app.example.com/", "same-origin", false},
		{"null origin alone", "null", "", "", false},
		{"null origin, same-origin fetch", "null", "", "same-origin", true},
		{"null origin, cross-site fetch", "null", "https://app.example.com/", "cross-site", false},
		{"same-site is not same-origin", "", "", "same-site", false},
		{"fetch metadata wins over referer", "", "https://app.example.com/page", "cross-site", false},
		{"referer matches", "", "https://app.example.com/page", "", true},
		{"referer differs", "", "https://evil.example/app.example.com", "", false},
		{"neither", "", "", "", false},
		{"port differs", "https://app.example.com:8443", "", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "https://app.example.com/auth/signout", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.referer != "" {
			r.Header.Set("Referer", tt.referer)
		}
		if tt.site != "" {
			r.Header.Set("Sec-Fetch-Site", tt.site)
		}
		if got := s.sameOrigin(r); got != tt.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tt.name, got, tt.want)
		}
	}
}
