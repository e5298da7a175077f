package interp

import "testing"

// BenchmarkExecuteURI expands a typical authorize URL: five placeholders,
// query-escaped.
func BenchmarkExecuteURI(b *testing.B) {
	t := MustCompile("https://idp.test/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}&state=${state}&nonce=${nonce}", URI)
	vals := map[string]string{
		"client_id": "0oa1example", "redirect_uri": "https://app.example.com/auth/okta/callback",
		"scope": "openid email profile", "state": "m3Yq0Kx2n1V8s7Tz4u6w9b0c2d4f6h8j1k3l5p7r9tQ", "nonce": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v",
	}
	lookup := func(r Ref) (string, Origin, bool) { v, ok := vals[r.Raw]; return v, Config, ok }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Execute(lookup); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile is the load-time cost of one template.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("https://idp.test/authorize?client_id=${client_id}&redirect_uri=${redirect_uri}&state=${state}", URI); err != nil {
			b.Fatal(err)
		}
	}
}
