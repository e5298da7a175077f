package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/authflow/authflow/engine"
)

// idTokenVariant is an ID token the provider documents it may issue, other
// than the contract's own: the login runs again with it, and must fail
// (refused) or give the claims expected.
type idTokenVariant struct {
	Note    string                     `json:"note"`    // what the variant shows
	Issuer  string                     `json:"issuer"`  // replaces id_token.issuer when set
	Claims  map[string]any             `json:"claims"`  // merged over id_token.claims; null removes a claim
	Refused string                     `json:"refused"` // the login must fail with an error that holds this text
	Expect  map[string]json.RawMessage `json:"expect"`  // else: these claims of the login's result
}

// playVariant runs the login with the ID token variant i and returns the
// ways it falls short.
func (p *provider) playVariant(ctx context.Context, s *engine.Strategy, i int) []string {
	v := &p.c.IDTokenVariants[i]
	what := fmt.Sprintf("id_token variant %d (%s)", i+1, v.Note)
	if (v.Refused == "") == (v.Expect == nil) {
		return []string{what + ": contract: give refused or expect, not both or neither"}
	}
	p.mu.Lock()
	p.variant = v
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.variant = nil
		p.mu.Unlock()
	}()
	var out []string
	l := s.NewLogin()
	u, err := s.AuthCodeURL(l)
	if err != nil {
		return []string{fmt.Sprintf("%s: authorize: %v", what, err)}
	}
	p.checkRedirect("authorize", p.c.Authorize, u)
	p.begin(what, p.c.Login)
	q := url.Values{"code": {p.code}, "state": {l.State}}
	for k, val := range p.c.Callback {
		q.Set(k, val)
	}
	res, err := s.Exchange(ctx, l, q)
	if v.Refused != "" {
		p.mu.Lock()
		p.next = len(p.want) // the steps after the refused ID token are not expected
		p.mu.Unlock()
	}
	p.end()
	switch {
	case v.Refused != "" && err == nil:
		out = append(out, fmt.Sprintf("%s: the login must fail (%s); it signed in %q", what, v.Refused, res.Subject()))
	case v.Refused != "" && !strings.Contains(err.Error(), v.Refused):
		out = append(out, fmt.Sprintf("%s: the login must fail with %q, got %v", what, v.Refused, err))
	case v.Refused == "" && err != nil:
		out = append(out, fmt.Sprintf("%s: login: %v", what, err))
	case v.Refused == "":
		for _, k := range sortedKeys(rawKeys(v.Expect)) {
			got, _ := json.Marshal(res.Claims[k])
			if !jsonEqual(got, v.Expect[k]) {
				out = append(out, fmt.Sprintf("%s: claim %s = %s, want %s", what, k, got, v.Expect[k]))
			}
		}
	}
	if f := p.failures(); f != "" {
		out = append(out, strings.TrimPrefix(f, "\n"))
	}
	return out
}
