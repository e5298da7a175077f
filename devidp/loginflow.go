package devidp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrInvalidCredentials is returned by Login when the login page refuses the
// username or password.
var ErrInvalidCredentials = errors.New("devidp: wrong username or password")

// Login signs a user in the way a browser would, through HTTP only: it GETs
// authorizeURL (an authorization request to this Provider), follows the
// redirect to the login page, POSTs the form with username and password, and
// follows the Provider's redirects until one leaves the issuer. It returns
// that redirect's target without requesting it: normally the client's
// redirect_uri with code and state, or with error and state when the
// Provider refused the request (RFC 6749 §4.1.2.1).
//
// client makes the requests (its Jar, if any, sees the cookies; its
// CheckRedirect still applies on the issuer); nil means a client with a 10s
// timeout. A refused password gives ErrInvalidCredentials.
func (p *Provider) Login(ctx context.Context, client *http.Client, authorizeURL, username, password string) (*url.URL, error) {
	start, err := url.Parse(authorizeURL)
	if err != nil {
		return nil, fmt.Errorf("devidp: login: authorize URL: %w", err)
	}
	if !p.onIssuer(start) {
		return nil, fmt.Errorf("devidp: login: authorize URL %q is not on issuer %q", authorizeURL, p.Issuer())
	}
	c := p.stayOnIssuer(client)

	// The authorize endpoint redirects to the login page.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("devidp: login: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devidp: login: authorize: %w", err)
	}
	body := drain(resp)
	if out := p.leftIssuer(resp); out != nil {
		return out, nil // refused before the login page, with error=
	}
	page := resp.Request.URL
	id := page.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || page.Path != p.issuer.Path+loginPath || id == "" {
		return nil, fmt.Errorf("devidp: login: authorize ended at %s with %s, not at the login page: %s", page.Redacted(), resp.Status, body)
	}

	// The login form posts back to the login page; success redirects to
	// op's callback, which redirects to the client.
	form := url.Values{"authRequestID": {id}, "username": {username}, "password": {password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer()+loginPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("devidp: login: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devidp: login: submit: %w", err)
	}
	body = drain(resp)
	if out := p.leftIssuer(resp); out != nil {
		return out, nil
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, ErrInvalidCredentials
	}
	return nil, fmt.Errorf("devidp: login: submit ended at %s with %s: %s", resp.Request.URL.Redacted(), resp.Status, body)
}

// stayOnIssuer returns a copy of client that follows redirects only while
// they stay on the issuer.
func (p *Provider) stayOnIssuer(client *http.Client) *http.Client {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !p.onIssuer(req.URL) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// onIssuer reports whether u is served by the Provider: the issuer's scheme
// and host, and a path under the issuer's.
func (p *Provider) onIssuer(u *url.URL) bool {
	iss := p.issuer
	if !strings.EqualFold(u.Scheme, iss.Scheme) || !strings.EqualFold(u.Host, iss.Host) {
		return false
	}
	return iss.Path == "" || u.Path == iss.Path || strings.HasPrefix(u.Path, iss.Path+"/")
}

// leftIssuer returns the target of a redirect off the issuer, which
// stayOnIssuer did not follow, or nil when resp is not one.
func (p *Provider) leftIssuer(resp *http.Response) *url.URL {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	loc, err := resp.Location()
	if err != nil || p.onIssuer(loc) {
		return nil
	}
	return loc
}

// drain reads and closes resp's body and returns its start, for errors.
func drain(resp *http.Response) string {
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return strings.TrimSpace(string(head))
}
