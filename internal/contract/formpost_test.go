package contract

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
)

// formPostLogin plays the login of a form_post contract the way the
// provider returns it: through the server, the browser's GET of the login
// route, then the provider's page POSTing code and state (and the
// contract's callback fields) as a form to the callback, cross-site, with
// the login cookie. A GET of the callback with the code in its query must
// be refused (405) without a request to the provider. The session must
// hold the subject and claims expected. It returns the ways the login
// falls short.
func (p *provider) formPostLogin(e *engine.Engine, s *engine.Strategy) []string {
	const what = "form_post callback"
	srv, err := server.New(e, server.Config{BaseURI: baseURI, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return []string{fmt.Sprintf("%s: server: %v", what, err)}
	}
	defer srv.Close()
	var jar []*http.Cookie
	do := func(method, path string, body url.Values, h http.Header) *http.Response {
		var r *http.Request
		if body != nil {
			r = httptest.NewRequest(method, baseURI+path, strings.NewReader(body.Encode()))
		} else {
			r = httptest.NewRequest(method, baseURI+path, nil)
		}
		for k, v := range h {
			r.Header[k] = v
		}
		for _, c := range jar {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		res := w.Result()
		for _, c := range res.Cookies() {
			jar = append(jar, &http.Cookie{Name: c.Name, Value: c.Value})
		}
		return res
	}

	login := do(http.MethodGet, "/auth/"+url.PathEscape(p.name)+"/login", nil, nil)
	loc := login.Header.Get("Location")
	if login.StatusCode != http.StatusFound || loc == "" {
		return []string{fmt.Sprintf("%s: GET /auth/%s/login: %d, want a redirect to the provider", what, p.name, login.StatusCode)}
	}
	p.checkRedirect("authorize", p.c.Authorize, loc)
	if f := p.failures(); f != "" {
		return []string{strings.TrimPrefix(f, "\n")}
	}
	au, _ := url.Parse(loc)
	form := url.Values{"code": {p.code}, "state": {au.Query().Get("state")}}
	for k, v := range p.c.Callback {
		form.Set(k, v)
	}
	var out []string
	callback := "/auth/" + url.PathEscape(p.name) + "/callback"

	// The code in a URL: refused, and nothing spent at the provider.
	p.begin(what+" by GET", nil)
	get := do(http.MethodGet, callback+"?"+form.Encode(), nil, nil)
	p.end()
	if get.StatusCode != http.StatusMethodNotAllowed {
		out = append(out, fmt.Sprintf("%s: a GET of the callback answered %d, want 405: the provider returns by POST only", what, get.StatusCode))
	}

	// The provider's page posts the form.
	p.begin("login ("+what+")", p.c.Login)
	post := do(http.MethodPost, callback, form, http.Header{
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Origin":         {au.Scheme + "://" + au.Host},
		"Sec-Fetch-Site": {"cross-site"},
	})
	p.end()
	if post.StatusCode != http.StatusSeeOther && post.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(post.Body)
		out = append(out, fmt.Sprintf("%s: POST %s answered %d, want a redirect into the app: %s", what, callback, post.StatusCode, clip(string(b))))
	}
	if f := p.failures(); f != "" {
		return append(out, strings.TrimPrefix(f, "\n"))
	}

	sess := do(http.MethodGet, "/auth/session", nil, nil)
	var got struct {
		User map[string]json.RawMessage `json:"user"`
	}
	if err := json.NewDecoder(sess.Body).Decode(&got); err != nil || sess.StatusCode != http.StatusOK {
		return append(out, fmt.Sprintf("%s: GET /auth/session after the POST: %d %v", what, sess.StatusCode, err))
	}
	var sub string
	json.Unmarshal(got.User["sub"], &sub)
	if sub != p.c.Expect.Subject {
		out = append(out, fmt.Sprintf("%s: the session's sub %q, want %q", what, sub, p.c.Expect.Subject))
	}
	for _, k := range sortedKeys(rawKeys(p.c.Expect.Claims)) {
		if !jsonEqual(got.User[k], p.c.Expect.Claims[k]) {
			out = append(out, fmt.Sprintf("%s: the session's %s = %s, want %s", what, k, got.User[k], p.c.Expect.Claims[k]))
		}
	}
	return out
}
