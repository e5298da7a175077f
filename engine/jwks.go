package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// keySet is the verification keys of one IdP, fetched on first use from
// jwks_uri (or the issuer's discovery document), refreshed in the background
// by keyfunc, and refetched when a token names an unknown key id, at most
// once per Options.JWKSUnknownKIDInterval.
type keySet struct {
	e       *Engine
	jwksURI string // known up front, or found by discovery
	issuer  string // for discovery when jwksURI is empty

	mu sync.Mutex
	kf keyfunc.Keyfunc
}

// keySetFor returns the shared key set for a jwks_uri or an issuer.
func (e *Engine) keySetFor(jwksURI, issuer string) *keySet {
	key := jwksURI
	if key == "" {
		key = "issuer:" + issuer
	}
	e.keysMu.Lock()
	defer e.keysMu.Unlock()
	ks, ok := e.keys[key]
	if !ok {
		ks = &keySet{e: e, jwksURI: jwksURI, issuer: issuer}
		e.keys[key] = ks
	}
	return ks
}

// keyfunc returns the jwt.Keyfunc, fetching the key set the first time. A
// failed first fetch is not cached: the next login tries again.
func (k *keySet) keyfunc(ctx context.Context) (jwt.Keyfunc, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.kf != nil {
		return k.kf.KeyfuncCtx(ctx), nil
	}
	uri := k.jwksURI
	if uri == "" {
		var err error
		if uri, err = k.e.discoverJWKS(ctx, k.issuer); err != nil {
			return nil, err
		}
	}
	noErr := false
	client := k.e.client
	if fn := k.e.opts.OnKeysFetch; fn != nil {
		c := *client
		c.Transport = fetchObserver{next: client.Transport, uri: redactURI(uri), fn: fn}
		client = &c
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(k.e.ctx, []string{uri}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               k.e.opts.StepTimeout,
		NoErrorReturnFirstHTTPReq: &noErr,
		RefreshInterval:           k.e.opts.JWKSRefreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(k.e.opts.JWKSUnknownKIDInterval), 1),
		RateLimitWaitMax:          k.e.opts.StepTimeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(context.Context, error) {} // the next verification reports it
		},
	})
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("fetching keys from %s: %w", redactURI(uri), err)
		}
		return nil, fmt.Errorf("%w: fetching keys from %s: %v", ErrUnreachable, redactURI(uri), err)
	}
	k.kf = kf
	return kf.KeyfuncCtx(ctx), nil
}

// fetchObserver reports each key-set fetch to Options.OnKeysFetch.
type fetchObserver struct {
	next http.RoundTripper
	uri  string
	fn   func(string, error)
}

// RoundTrip implements http.RoundTripper.
func (f fetchObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	switch {
	case err != nil:
		f.fn(f.uri, err)
	case resp.StatusCode != http.StatusOK:
		f.fn(f.uri, fmt.Errorf("HTTP %d", resp.StatusCode))
	default:
		f.fn(f.uri, nil)
	}
	return resp, err
}

// discoverJWKS reads the issuer's OpenID Provider Configuration
// (OpenID Connect Discovery 1.0 §4) and returns its jwks_uri, after checking
// that the document names the same issuer.
func (e *Engine) discoverJWKS(ctx context.Context, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
	defer cancel()
	u := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return "", fmt.Errorf("discovery: %w", unwrapURLError(err))
		}
		return "", fmt.Errorf("%w: discovery at %s: %v", ErrUnreachable, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &ProviderError{Step: "discovery", StatusCode: resp.StatusCode}
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("%w: discovery document: %v", ErrBadResponse, err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("%w: discovery document names issuer %q, want %q", ErrBadResponse, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("%w: discovery document has no jwks_uri", ErrBadResponse)
	}
	return doc.JWKSURI, nil
}
