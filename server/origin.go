package server

import (
	"net/http"
	"net/url"
	"strings"
)

// returnToParam reads the return_to query parameter. When it comes first,
// everything after "return_to=" is its value, unescaped once: nginx can
// only pass $request_uri unencoded, and "/a?x=1&y=2" must survive whole.
func returnToParam(r *http.Request) string {
	if rest, ok := strings.CutPrefix(r.URL.RawQuery, "return_to="); ok {
		if v, err := url.QueryUnescape(rest); err == nil {
			return v
		}
		return ""
	}
	return r.URL.Query().Get("return_to")
}

// returnTo returns where a login may send the browser back to: a path on
// this server ("/app?x=1"), or "" when raw is empty or leads anywhere else.
// An absolute URL on the server's own origin is reduced to its path.
// Anything else — another host, a scheme-relative "//evil", a backslash
// that browsers read as a slash, control characters — is refused.
func (s *Server) returnTo(raw string) string {
	if raw == "" || len(raw) > 2048 {
		return ""
	}
	for _, c := range raw {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil {
		if u.Scheme+"://"+u.Host != s.origin || u.User != nil {
			return ""
		}
		u.Scheme, u.Host = "", ""
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return ""
	}
	out := p
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// sameOrigin reports whether a state-changing request comes from this
// server's own pages: its Origin header, or without one its Referer, must
// be the server's origin. A request with neither is refused.
func (s *Server) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == s.origin
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && u.Scheme+"://"+u.Host == s.origin
	}
	return false
}
