package engine

import (
	"fmt"
	"io"
	"net/http"
)

// limitTransport caps the size of every response body read through it, so
// that no outbound answer (step, discovery, JWKS) can exhaust memory.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrResponseTooLarge, resp.ContentLength, t.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, max: t.max}
	return resp, nil
}

// limitedBody fails a read that would go past the limit.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells "exactly at the limit" from "over it".
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w: over the %d-byte limit", ErrResponseTooLarge, b.max)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// limitClient returns a copy of c whose transport limits response sizes.
func limitClient(c *http.Client, max int64) *http.Client {
	cc := *c
	base := cc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = &limitTransport{base: base, max: max}
	if cc.CheckRedirect == nil {
		cc.CheckRedirect = checkRedirect
	}
	return &cc
}

// checkRedirect follows at most three redirects, and only of requests
// without a body: a 307 or 308 answer to a token request would otherwise
// resend its form — client secret, code, refresh token — to wherever the
// redirect points. Such an answer is returned as it is, a non-2xx error.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return http.ErrUseLastResponse
	}
	if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
		return http.ErrUseLastResponse
	}
	return nil
}
