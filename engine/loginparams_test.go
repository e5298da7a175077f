package engine_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/interp"
)

// shopFile has a Shopify-like strategy: the shop is one label of the
// authorize host. Its pattern is deliberately lax (anything printable), so
// that only the host-label rule stands between a value and the host.
const shopFile = `{
	"base_uri": "https://app.test",
	"strategies": {
		"acme": {
			"login_params": {"shop": ".+", "prompt": "^(login|consent)$"},
			"auth_uri": "https://${login.shop}.myshopify.test/admin/oauth/authorize?client_id=${client_id}&redirect_uri=${redirect_uri}",
			"client_id": "acme-client", "scope": "read_products", "pkce": false,
			"steps": [
				{"name": "token", "uri": "https://${login.shop}.myshopify.test/admin/oauth/access_token", "method": "POST",
				 "form": {"code": "${auth.code}", "client_id": "${client_id}"}},
				{"name": "jwt", "uri": "https://${login.shop}.myshopify.test/admin/api/shop.json?shop=${login.shop}"}
			]
		}
	}
}`

// TestLoginParamHostLabel: a login parameter that forms a host label is
// one DNS label or nothing: a dot, slash, '@', ':', '#', '%', dot segments,
// a leading hyphen or 64 characters never reach the host, whatever the
// pattern allowed.
func TestLoginParamHostLabel(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, shopFile)
	// build bypasses LoginParams (which refuses these values first, see
	// below): the escaping alone must hold.
	build := func(shop string) (string, error) {
		l := s.NewLogin()
		l.Params = map[string]string{"shop": shop}
		return s.AuthCodeURL(l)
	}
	u, err := build("my-shop")
	if err != nil {
		t.Fatal(err)
	}
	if pu, _ := url.Parse(u); pu.Host != "my-shop.myshopify.test" || pu.Query().Has("shop") {
		t.Errorf("authorize URL %q: want host my-shop.myshopify.test, shop not repeated in the query", u)
	}
	for _, shop := range []string{"evil.com/", "evil.com", "evil.com#", "a.b", "..", "a@evil.test", "a:8080",
		"%2e", "-a", "a-", strings.Repeat("a", 64), "evil.test?", "a b"} {
		u, err := build(shop)
		if !errors.Is(err, interp.ErrUnsafeValue) {
			t.Errorf("shop %q: authorize URL %q, err %v; want ErrUnsafeValue", shop, u, err)
		}
		// The login request is refused before that, with a LoginParamError
		// (a 400 page), though the pattern (.+) allows the value.
		if _, err := s.LoginParams(url.Values{"shop": {shop}}); !errors.Is(err, engine.ErrLoginParam) {
			t.Errorf("shop %q: LoginParams err %v, want ErrLoginParam", shop, err)
		}
	}
}

// TestLoginParamsCheck: the request's parameters against login_params.
func TestLoginParamsCheck(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	s := p.strategy(t, shopFile)
	got, err := s.LoginParams(url.Values{"prompt": {"login"}, "return_to": {"/x"}}, "return_to")
	if err != nil || len(got) != 1 || got["prompt"] != "login" {
		t.Fatalf("LoginParams = %v, %v", got, err)
	}
	for name, q := range map[string]url.Values{
		"unlisted":   {"x": {""}},
		"twice":      {"prompt": {"login", "consent"}},
		"no match":   {"prompt": {"none"}},
		"prefix":     {"prompt": {"loginx"}},
		"CR LF":      {"shop": {"a\r\nb"}},
		"NUL":        {"shop": {"a\x00"}},
		"too long":   {"shop": {strings.Repeat("a", 257)}},
		"return_to?": {"return_to": {"/x"}}, // not skipped by this caller
	} {
		_, err := s.LoginParams(q)
		var lpe *engine.LoginParamError
		if !errors.As(err, &lpe) || !errors.Is(err, engine.ErrLoginParam) {
			t.Errorf("%s: err %v, want a LoginParamError", name, err)
			continue
		}
		for _, vs := range q {
			for _, v := range vs {
				if len(v) > 7 && strings.Contains(err.Error(), v) {
					t.Errorf("%s: the error shows the value: %v", name, err)
				}
			}
		}
	}
	// A strategy without login_params takes none, whatever the query.
	plain := p.strategy(t, oidcFile(authPost))
	if got, err := plain.LoginParams(url.Values{"prompt": {"none"}}); got != nil || err != nil {
		t.Errorf("without login_params: %v, %v", got, err)
	}
}
