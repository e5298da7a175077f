package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/authflow/authflow/strategies"
)

// discovery is an issuer's OpenID Provider Configuration (OpenID Connect
// Discovery 1.0 §3), as read once when the engine starts: the values of
// ${discovery.NAME}.
type discovery struct {
	url     string            // where it was read
	members map[string]string // its string members, by name
	// authMethods is token_endpoint_auth_methods_supported; hasAuthMethods
	// whether the document has the member at all.
	authMethods    []string
	hasAuthMethods bool
}

// discoveryURL returns where an issuer's discovery document is: the issuer,
// without a terminating "/", and /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §4).
func discoveryURL(issuer string) string {
	return strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
}

// discover reads the issuer's discovery document through the engine's
// client, within Options.StepTimeout and Options.MaxResponseBytes. The
// document must be a JSON object whose issuer is the configured one, byte
// for byte (§4.3). Every error names the URL.
func (e *Engine) discover(ctx context.Context, issuer string) (*discovery, error) {
	u := discoveryURL(issuer)
	ctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("discovery at %s: %w", u, unwrapURLError(err))
		}
		return nil, fmt.Errorf("%w: discovery at %s: %v", ErrUnreachable, u, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery at %s: %w", u, &ProviderError{Step: "discovery", StatusCode: resp.StatusCode})
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("discovery at %s: %w", u, err)
		}
		return nil, fmt.Errorf("%w: discovery at %s: %v", ErrUnreachable, u, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: discovery at %s: not a JSON object: %v", ErrBadResponse, u, err)
	}
	d := &discovery{url: u, members: map[string]string{}}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			d.members[k] = s
		}
	}
	if got := d.members["issuer"]; got != issuer {
		return nil, fmt.Errorf("%w: discovery at %s names issuer %q, want %q (byte for byte)", ErrBadResponse, u, got, issuer)
	}
	if v, ok := raw["token_endpoint_auth_methods_supported"]; ok {
		if err := json.Unmarshal(v, &d.authMethods); err != nil {
			return nil, fmt.Errorf("%w: discovery at %s: token_endpoint_auth_methods_supported is not a list of strings", ErrBadResponse, u)
		}
		d.hasAuthMethods = true
	}
	return d, nil
}

// clientAuth returns the client authentication a step's client_auth asks
// for, with "discovery" decided by the document: private_key_jwt when it
// lists that method and the strategy has a client_key; else
// client_secret_basic when it lists that method or lists none, else
// client_secret_post; none for a client without a secret.
func (d *discovery) clientAuth(method string, hasSecret, hasKey bool) string {
	if method != strategies.ClientAuthDiscovery {
		return method
	}
	switch {
	case hasKey && slices.Contains(d.authMethods, strategies.ClientAuthPrivateKeyJWT):
		return strategies.ClientAuthPrivateKeyJWT
	case !hasSecret:
		return strategies.ClientAuthNone
	case !d.hasAuthMethods || slices.Contains(d.authMethods, strategies.ClientAuthBasic):
		return strategies.ClientAuthBasic
	default:
		return strategies.ClientAuthPost
	}
}

// missingMember returns the first ${discovery.NAME} of templates that the
// document lacks, or "".
func (d *discovery) missingMember(templates ...*strategies.Template) string {
	for _, t := range templates {
		if t == nil {
			continue
		}
		for _, b := range t.Bindings() {
			if b.Source != strategies.FromDiscovery {
				continue
			}
			if _, ok := d.members[b.Path]; !ok {
				return b.Path
			}
		}
	}
	return ""
}

// stepTemplates returns every template of a step.
func stepTemplates(p *strategies.StepPlan) []*strategies.Template {
	out := []*strategies.Template{p.URI(), p.Decode(), p.Issuer(), p.JWKSURI(), p.Audience()}
	for _, h := range p.Headers() {
		out = append(out, h.Value)
	}
	for _, f := range p.Form() {
		out = append(out, f.Value)
	}
	if u, pw := p.BasicAuth(); u != nil {
		out = append(out, u, pw)
	}
	walkJSONTemplates(p.JSON(), func(t *strategies.Template) { out = append(out, t) })
	return out
}

func walkJSONTemplates(v any, fn func(*strategies.Template)) {
	switch x := v.(type) {
	case *strategies.Template:
		fn(x)
	case map[string]any:
		for _, e := range x {
			walkJSONTemplates(e, fn)
		}
	case []any:
		for _, e := range x {
			walkJSONTemplates(e, fn)
		}
	}
}
