package server

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/authflow/authflow/engine"
)

// maxFormPostBytes bounds a form_post callback's body: code, state, an ID
// token and, from Apple, a small user object fit many times over.
const maxFormPostBytes = 64 << 10

// errFormPost: a form_post callback that is not a urlencoded form within
// maxFormPostBytes.
var errFormPost = errors.New("form_post callback: not an application/x-www-form-urlencoded body within the size limit")

// formPostCallback returns the POST handler of a form_post strategy's
// redirect_path (OAuth 2.0 Form Post Response Mode): the IdP's page makes
// the browser POST code and state as a form, cross-site, so the Lax
// cookies stay behind; the login cookie of a form_post login is
// SameSite=None (loginCookieFor) and binds the login as it does for a GET.
// Only the form counts: ${auth.NAME} reads its fields, never the query.
// No Origin check: the POST comes from the IdP's origin by design; the
// state, its login cookie and its single use are what refuse a forged or
// replayed POST.
func (s *Server) formPostCallback(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			s.fail(w, r, name, fmt.Errorf("%w: Content-Type %q", errFormPost, r.Header.Get("Content-Type")))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormPostBytes)
		q := url.Values{}
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, name, fmt.Errorf("%w: %v", errFormPost, err))
			return
		}
		for k, v := range r.PostForm {
			q[k] = v
		}
		s.finishLogin(w, r, name, q)
	}
}

// getOnFormPost answers a GET on a form_post strategy's callback: its IdP
// returns by POST only, so a GET (the code in a URL, where logs and
// Referer keep it) is refused, and spends nothing.
func (s *Server) getOnFormPost(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref := newRef()
		s.log.Warn("login failed", "ref", ref, "strategy", name, "outcome", "method_not_allowed",
			"status", http.StatusMethodNotAllowed, "error", "GET on a form_post callback")
		w.Header().Set("Allow", http.MethodPost)
		s.render(w, http.StatusMethodNotAllowed, "error", failure{Status: http.StatusMethodNotAllowed,
			Kind: "method_not_allowed", Title: "Sign-in did not complete",
			Message: "This sign-in must come back from the identity provider as a form post. Please start again.",
			Retry:   "/auth/" + url.PathEscape(name) + "/login", Ref: ref})
	}
}

// loginParams checks the login request's parameters against the
// strategy's login_params: nil, nil for a strategy without them. A query
// that is all return_to (return_to=/path?…, unescaped) carries none; one
// that does not parse is refused whole.
func (s *Server) loginParams(st *engine.Strategy, r *http.Request) (map[string]string, error) {
	if !st.HasLoginParams() {
		return nil, nil
	}
	raw := r.URL.RawQuery
	if rest, ok := strings.CutPrefix(raw, "return_to="); ok && strings.HasPrefix(rest, "/") {
		return map[string]string{}, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &engine.LoginParamError{Strategy: st.Name(), Param: "?", Reason: "the query does not parse: " + err.Error()}
	}
	return st.LoginParams(q, "return_to")
}
