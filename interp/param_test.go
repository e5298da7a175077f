package interp

import (
	"errors"
	"testing"
)

// TestParamOrigin: a Param value (a login parameter) is query-escaped in a
// query, and before it may stand only inside a URI's authority, as one DNS
// label; a Config value holding a path ends the authority.
func TestParamOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src, shop, want string
		ok              bool
		base            string // ${base}, a config value
	}{
		{"https://${login.shop}.myshopify.com/admin", "my-shop", "https://my-shop.myshopify.com/admin", true, ""},
		{"https://a.${login.shop}.example.com", "Shop1", "https://a.Shop1.example.com", true, ""},
		{"https://idp.test/x?shop=${login.shop}", "a.b/c?d", "https://idp.test/x?shop=a.b%2Fc%3Fd", true, ""},
		{"https://${login.shop}.myshopify.com/admin", "evil.com/", "", false, ""},
		{"https://${login.shop}.myshopify.com/admin", "evil.com#", "", false, ""},
		{"https://${login.shop}.myshopify.com/admin", "a@b", "", false, ""},
		{"https://${login.shop}.myshopify.com/admin", "a:1", "", false, ""},
		{"https://${login.shop}.myshopify.com/admin", "..", "", false, ""},
		{"https://${login.shop}.myshopify.com/admin", "", "", false, ""},
		{"https://${login.shop}.myshopify.com/admin", "-a", "", false, ""},
		{"https://idp.test/${login.shop}", "ok", "", false, ""},              // path
		{"${login.shop}://idp.test/", "https", "", false, ""},                // scheme
		{"${base}/${login.shop}.x.com", "ok", "", false, "https://idp.test"}, // after a config path
		{"${base}${login.shop}.x.com/", "ok", "https://ok.x.com/", true, "https://"},
	} {
		tpl := MustCompile(tc.src, URI)
		got, err := tpl.Execute(func(r Ref) (string, Origin, bool) {
			if r.Root == "base" {
				return tc.base, Config, true
			}
			return tc.shop, Param, true
		})
		switch {
		case tc.ok && (err != nil || got != tc.want):
			t.Errorf("%s with %q = %q, %v; want %q", tc.src, tc.shop, got, err, tc.want)
		case !tc.ok && !errors.Is(err, ErrUnsafeValue):
			t.Errorf("%s with %q = %q, %v; want ErrUnsafeValue", tc.src, tc.shop, got, err)
		}
	}
}
