package authtest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
)

// TokenRecorder is an http.RoundTripper for an engine's HTTP client. It
// remembers every secret that crosses the back channel — client secrets,
// authorization codes, access, refresh and ID tokens — so that tests can
// check that none of them leaks into a log or a page (AssertNoSecrets),
// keeps the IdP's answers (Last), and lets Tamper and Intercept play a man
// in the middle. Set the fields before its first use.
type TokenRecorder struct {
	// Next carries the requests; nil means http.DefaultTransport.
	Next http.RoundTripper
	// Tamper, when set, may rewrite each answer's body on its way to the
	// engine.
	Tamper func(req *http.Request, body []byte) []byte
	// Intercept, when set, may answer a request in the IdP's place: a
	// non-nil answer or error is returned instead of Next's.
	Intercept func(req *http.Request) (*http.Response, error)

	mu      sync.Mutex
	secrets []string
	answers []recorded
}

// recorded is one answer's body, by request path.
type recorded struct {
	path string
	body []byte
}

// RoundTrip implements http.RoundTripper.
func (r *TokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(body)
			if form, err := url.ParseQuery(string(b)); err == nil {
				r.Add(form.Get("code"), form.Get("refresh_token"), form.Get("token"), form.Get("client_secret"))
			}
		}
	}
	if r.Intercept != nil {
		if resp, err := r.Intercept(req); resp != nil || err != nil {
			return resp, err
		}
	}
	next := r.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Add(gjson.GetBytes(body, "access_token").String(), gjson.GetBytes(body, "refresh_token").String(),
		gjson.GetBytes(body, "id_token").String())
	r.mu.Lock()
	r.answers = append(r.answers, recorded{req.URL.Path, body})
	r.mu.Unlock()
	if r.Tamper != nil {
		body = r.Tamper(req, body)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// Add records secrets the recorder cannot see on the wire (values shorter
// than 8 bytes are ignored: they would match by chance).
func (r *TokenRecorder) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range secrets {
		if len(v) >= 8 {
			r.secrets = append(r.secrets, v)
		}
	}
}

// Secrets returns every secret seen so far.
func (r *TokenRecorder) Secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.secrets...)
}

// Last returns the body of the newest answer to a request for path (as
// received, before Tamper), or nil.
func (r *TokenRecorder) Last(path string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.answers) - 1; i >= 0; i-- {
		if r.answers[i].path == path {
			return r.answers[i].body
		}
	}
	return nil
}

// AssertNoSecrets fails t when text (a page, a log, a header; named what
// in the failure) holds any secret the recorder saw, or a JWT's signature.
// It fails too when the recorder saw no secret: the check would be vacuous.
func (r *TokenRecorder) AssertNoSecrets(t testing.TB, what, text string) {
	t.Helper()
	secrets := r.Secrets()
	if len(secrets) == 0 {
		t.Fatalf("AssertNoSecrets(%s): the recorder saw no secrets; the check would be vacuous", what)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains a secret or token %.12q…", what, s)
		}
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) > 16 && strings.Contains(text, parts[2]) {
			t.Errorf("%s contains a JWT's signature %.12q…", what, parts[2])
		}
	}
}
