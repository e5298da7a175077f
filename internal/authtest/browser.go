package authtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
)

// BrowserOptions configures a Browser made by NewBrowser.
type BrowserOptions struct {
	// Transport carries the requests. Default http.DefaultTransport.
	Transport http.RoundTripper
	// IdP is the provider whose login form SignIn fills in; StartLogin
	// expects authflow to send the browser to its authorize endpoint.
	// Needed for SignIn, Login and MustLogin only.
	IdP *devidp.Provider
	// Home is where a login without return_to lands (authflow's
	// SigninSuccess), for MustLogin: a path on the browser's URL. Default "/".
	Home string
}

// Browser is a user agent with its own cookie jar. It does not follow
// redirects by itself: tests see every hop. Its methods fail the test on a
// transport error.
type Browser struct {
	t    testing.TB
	base string
	o    BrowserOptions
	jar  http.CookieJar
	c    *http.Client
}

// NewBrowser returns a browser with an empty cookie jar for the authflow
// at base (an origin such as http://127.0.0.1:8080): request targets
// without a scheme are paths on it. A Bench makes its own with
// Bench.NewBrowser.
func NewBrowser(t testing.TB, base string, o BrowserOptions) *Browser {
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.Home == "" {
		o.Home = "/"
	}
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, base: strings.TrimRight(base, "/"), o: o, jar: jar, c: &http.Client{
		Jar:       jar,
		Transport: o.Transport,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// URL returns the origin the browser's relative targets resolve against.
func (br *Browser) URL() string { return br.base }

// Client returns the browser's HTTP client: its cookie jar, no redirects
// followed.
func (br *Browser) Client() *http.Client { return br.c }

// Page is an answer the browser received.
type Page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string // the redirect target, resolved; "" for none
}

// JSON decodes the page's body as a JSON object (nil when it is not one).
func (p *Page) JSON() map[string]any {
	var m map[string]any
	json.Unmarshal([]byte(p.Body), &m)
	return m
}

// Cookies returns the cookies the answer sets (its Set-Cookie headers).
func (p *Page) Cookies() []*http.Cookie {
	return (&http.Response{Header: p.Header}).Cookies()
}

// Ref returns the reference id an authflow error page shows, or "".
func (p *Page) Ref() string {
	const open = `<code id="ref">`
	_, rest, ok := strings.Cut(p.Body, open)
	if !ok {
		return ""
	}
	ref, _, _ := strings.Cut(rest, "</code>")
	return ref
}

// Do sends a request with the given headers. A target without a scheme is
// a path on the browser's URL.
func (br *Browser) Do(method, target string, body io.Reader, header http.Header) *Page {
	br.t.Helper()
	if !strings.Contains(target, "://") {
		target = br.base + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		br.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := br.c.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := &Page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	if loc, err := resp.Location(); err == nil {
		p.Location = loc.String()
	}
	return p
}

// Get is Do with GET, as a browser navigating (Accept: text/html).
func (br *Browser) Get(target string) *Page {
	br.t.Helper()
	return br.GetWith(target, nil)
}

// GetWith is Get with extra request headers.
func (br *Browser) GetWith(target string, header http.Header) *Page {
	br.t.Helper()
	h := http.Header{"Accept": {"text/html"}}
	for k, vs := range header {
		h[k] = vs
	}
	return br.Do(http.MethodGet, target, nil, h)
}

// Post sends an empty form POST from the site's own pages (Origin set to
// the browser's URL), as the sign-out button does.
func (br *Browser) Post(target string) *Page {
	br.t.Helper()
	return br.Do(http.MethodPost, target, strings.NewReader(""), http.Header{
		"Origin": {br.base}, "Content-Type": {"application/x-www-form-urlencoded"}})
}

// StartLogin opens /auth/{strategy}/login (with return_to when not "") and
// returns the authorize URL it redirects to.
func (br *Browser) StartLogin(strategy, returnTo string) string {
	br.t.Helper()
	target := "/auth/" + strategy + "/login"
	if returnTo != "" {
		target += "?return_to=" + url.QueryEscape(returnTo)
	}
	p := br.Get(target)
	if br.o.IdP == nil {
		br.t.Fatal("StartLogin: the browser has no IdP (BrowserOptions.IdP)")
	}
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, br.o.IdP.Issuer()+"/authorize?") {
		br.t.Fatalf("GET %s: %d to %q, want 302 to the IdP's authorize endpoint", target, p.Status, p.Location)
	}
	return p.Location
}

// SignIn fills in the IdP's login form as u and returns the callback URL
// the IdP sends the browser back to (not yet requested).
func (br *Browser) SignIn(authorizeURL string, u devidp.User) string {
	br.t.Helper()
	if br.o.IdP == nil {
		br.t.Fatal("SignIn: the browser has no IdP (BrowserOptions.IdP)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	back, err := br.o.IdP.Login(ctx, nil, authorizeURL, u.Username, u.Password)
	if err != nil {
		br.t.Fatalf("signing in at the IdP: %v", err)
	}
	return back.String()
}

// Login runs a whole login with strategy as u and returns the callback's
// answer (normally 302 to return_to or to the home page).
func (br *Browser) Login(strategy string, u devidp.User, returnTo string) *Page {
	br.t.Helper()
	return br.Get(br.SignIn(br.StartLogin(strategy, returnTo), u))
}

// MustLogin is Login without return_to that fails the test unless the
// login succeeded: a 302 to the home page (BrowserOptions.Home).
func (br *Browser) MustLogin(strategy string, u devidp.User) {
	br.t.Helper()
	p := br.Login(strategy, u, "")
	if p.Status != http.StatusFound || p.Location != br.base+br.o.Home {
		br.t.Fatalf("login with %s: %d to %q, want 302 to %s; body: %s", strategy, p.Status, p.Location, br.o.Home, p.Body)
	}
}

// Session returns GET /auth/session's status and JSON.
func (br *Browser) Session() (int, map[string]any) {
	br.t.Helper()
	p := br.Do(http.MethodGet, "/auth/session", nil, nil)
	return p.Status, p.JSON()
}

// Verify returns GET /auth/verify's answer.
func (br *Browser) Verify() *Page {
	br.t.Helper()
	return br.Do(http.MethodGet, "/auth/verify", nil, nil)
}

// Cookies returns the jar's cookies for the browser's URL.
func (br *Browser) Cookies() []*http.Cookie {
	u, _ := url.Parse(br.base)
	return br.jar.Cookies(u)
}

// Cookie returns the value of the jar's cookie of that name for the
// browser's URL, or "".
func (br *Browser) Cookie(name string) string {
	for _, c := range br.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie puts a cookie in the jar for the browser's URL (Path /, Secure
// over https), as an attacker planting one would.
func (br *Browser) SetCookie(name, value string) {
	u, _ := url.Parse(br.base)
	br.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: u.Scheme == "https"}})
}
