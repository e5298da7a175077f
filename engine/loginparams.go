package engine

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
)

// ErrLoginParam is wrapped by LoginParams' errors: the login request
// carries a parameter the strategy does not allow-list, or a value its
// pattern refuses.
var ErrLoginParam = errors.New("login parameter refused")

// LoginParamError is a refused parameter of a login request. Its text
// names the parameter, never the value.
type LoginParamError struct {
	Strategy string
	Param    string // as the request named it, cut to 64 bytes
	Reason   string
}

func (e *LoginParamError) Error() string {
	return fmt.Sprintf("strategy %q: login parameter %q: %s", e.Strategy, e.Param, e.Reason)
}

// Unwrap returns ErrLoginParam.
func (e *LoginParamError) Unwrap() error { return ErrLoginParam }

// HasLoginParams reports whether the strategy allow-lists login request
// parameters (login_params).
func (s *Strategy) HasLoginParams() bool { return len(s.plan.LoginParams()) > 0 }

// FormPost reports whether the IdP POSTs the callback's parameters as a
// form (response_mode form_post): the callback is POST only.
func (s *Strategy) FormPost() bool { return s.plan.FormPost() }

// LoginParams checks the query of a login request against the strategy's
// login_params and returns the values to put on the Login. Every
// parameter but the skipped ones (the server's own, return_to) must be
// declared, given once, free of control characters, at most
// strategies.MaxLoginParamValue bytes (all of them together at most
// MaxLoginParamsTotal), and matched whole by its pattern. A strategy
// without login_params takes none: the result is nil, whatever the query.
func (s *Strategy) LoginParams(q url.Values, skip ...string) (map[string]string, error) {
	params := s.plan.LoginParams()
	if len(params) == 0 {
		return nil, nil
	}
	refuse := func(name, reason string) error {
		if len(name) > 64 {
			name = name[:64]
		}
		return &LoginParamError{Strategy: s.plan.Name(), Param: name, Reason: reason}
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]string{}
	total := 0
	for _, k := range names {
		if skipped(k, skip) {
			continue
		}
		var p *strategies.LoginParam
		for i := range params {
			if params[i].Name == k {
				p = &params[i]
			}
		}
		vs := q[k]
		switch {
		case p == nil:
			return nil, refuse(k, "not allowed (the strategy's login_params do not list it)")
		case len(vs) != 1:
			return nil, refuse(k, "given more than once")
		case len(vs[0]) > strategies.MaxLoginParamValue:
			return nil, refuse(k, fmt.Sprintf("longer than %d bytes", strategies.MaxLoginParamValue))
		case strings.ContainsFunc(vs[0], isControl):
			return nil, refuse(k, "holds a control character")
		case !p.Pattern.MatchString(vs[0]):
			return nil, refuse(k, "the value does not match the strategy's pattern")
		case s.hostParam(k) && !isDNSLabel(vs[0]):
			return nil, refuse(k, "a template puts it in a host, where it must be one DNS label (letters, digits, inner hyphens; at most 63)")
		}
		total += len(k) + len(vs[0])
		if total > strategies.MaxLoginParamsTotal {
			return nil, refuse(k, fmt.Sprintf("the login parameters exceed %d bytes together", strategies.MaxLoginParamsTotal))
		}
		out[k] = vs[0]
	}
	return out, nil
}

func skipped(k string, skip []string) bool {
	for _, s := range skip {
		if s == k {
			return true
		}
	}
	return false
}

// isControl reports C0 and C1 control characters and DEL (CR, LF, NUL, …).
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// hostParam reports whether a template of the strategy puts ${login.name}
// in a URI's host (before its query): its value must be a DNS label.
func (s *Strategy) hostParam(name string) bool {
	for _, t := range s.plan.Templates() {
		if t.Context() != interp.URI {
			continue
		}
		for _, b := range t.Bindings() {
			if b.Source == strategies.FromLoginParam && b.Path == name && !b.InQuery {
				return true
			}
		}
	}
	return false
}

// isDNSLabel reports whether v is one DNS label: 1 to 63 letters, digits
// and hyphens, not starting or ending with a hyphen (as interp checks
// again where the value lands).
func isDNSLabel(v string) bool {
	if len(v) == 0 || len(v) > 63 || v[0] == '-' || v[len(v)-1] == '-' {
		return false
	}
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
