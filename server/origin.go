package server

import (
	"net/http"
	"net/url"
	"strings"
)

// returnToParam reads the return_to query parameter. nginx can pass the
// original request only unencoded (return_to=$request_uri, placed first):
// when the query starts with "return_to=/", everything after "return_to="
// is the value, taken as it is — "/a?x=1&y=2" survives whole, and escapes
// inside it (q=a%26b) keep their meaning. Otherwise the parameter is read
// the usual way, unescaped once.
func returnToParam(r *http.Request) string {
	if rest, ok := strings.CutPrefix(r.URL.RawQuery, "return_to="); ok && strings.HasPrefix(rest, "/") {
		return rest
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
// server's own pages. In order:
//
//   - an Origin header other than "null" must be the server's origin;
//   - otherwise (no Origin, or "null", which browsers send for a form
//     posted from a page with Referrer-Policy: no-referrer) the Fetch
//     metadata header Sec-Fetch-Site, when present, must be "same-origin";
//   - otherwise the Referer must be on the server's origin.
//
// A request with none of these is refused.
func (s *Server) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o == s.origin
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && u.Scheme+"://"+u.Host == s.origin
	}
	return false
}
