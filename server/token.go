package server

import (
	"errors"
	"net/http"
	"time"
)

// The routes of the upstream JWT (docs/api-tokens.md), mounted when
// Config.UpstreamJWT.Enabled:
//
//	GET /auth/token              the session's JWT, for the browser app
//	GET /.well-known/jwks.json   the public key that verifies it

var jwksCache = []string{"max-age=300"}

// jwksJSON serves GET /.well-known/jwks.json: the JWK Set of the upstream
// JWT's key and of the keys lately in use before it or beside it
// (publishedkeys.go), cacheable for five minutes (ServeHTTP's no-store is
// overridden: the document is public and the same for everyone).
func (s *Server) jwksJSON(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Cache-Control"] = jwksCache
	h.Set("Content-Type", "application/json")
	w.Write(s.upstream.keys.document(r.Context()))
}

// tokenJSON serves GET /auth/token: {"token", "expires_at"} for the
// request's live session, the JWT /auth/verify sends upstream as
// X-Auth-Token; 401 without a session. Same-origin only: a page on another
// site gets 403 before the session is read.
func (s *Server) tokenJSON(w http.ResponseWriter, r *http.Request) {
	w.Header()["Cache-Control"] = noStore
	if !s.sameOriginRead(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-site request refused"})
		return
	}
	rec, err := s.current(w, r, false)
	if err != nil && !sessionEnded(err) {
		s.sessionUnavailable(w, "token", err, false)
		return
	}
	var t *upstreamToken
	if err == nil {
		t, err = s.upstream.forSession(rec)
	}
	if errors.Is(err, errSessionEnding) || sessionEnded(err) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no session"})
		return
	}
	if err != nil {
		s.upstreamTokenFailed(w, err, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": t.jwt(), "expires_at": t.expires.UTC().Format(time.RFC3339)})
}

// sameOriginRead reports whether a GET that reads a secret may be
// answered: refused when an Origin header names another origin (or is
// "null", an opaque one), or when Sec-Fetch-Site says the request comes
// from another site (cross-site, or same-site: a sibling subdomain). A
// request with neither — a non-browser client, an older browser's
// same-origin GET — is allowed: its session cookie (SameSite=Lax, so absent
// from cross-site subrequests) is what authorizes it.
func (s *Server) sameOriginRead(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == s.origin
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	return true
}

var errUpstreamToken = errors.New("upstream token unavailable")

// setUpstreamToken adds X-Auth-Token for rec to a verify answer. It
// reports false after answering the request itself: 401 when the session
// ends within the second, 500 when signing failed.
func (s *Server) setUpstreamToken(w http.ResponseWriter, rec *record, page bool) bool {
	t, err := s.upstream.forSession(rec)
	if errors.Is(err, errSessionEnding) {
		s.cfg.Observer.Verify(OutcomeUnauthenticated)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	if err != nil {
		s.cfg.Observer.Verify(OutcomeError)
		s.upstreamTokenFailed(w, err, page)
		return false
	}
	w.Header()["X-Auth-Token"] = t.hdr
	return true
}

// upstreamTokenFailed answers a request whose upstream JWT could not be
// signed (a KMS signer failed): 500, with a reference whose log line holds
// the cause.
func (s *Server) upstreamTokenFailed(w http.ResponseWriter, err error, page bool) {
	ref := newRef()
	s.log.Error("upstream jwt", "ref", ref, "outcome", "error", "error", err.Error())
	if page {
		s.render(w, http.StatusInternalServerError, "error", failure{Title: "Something went wrong",
			Message: "Your identity could not be vouched for. Please try again in a moment.", Ref: ref})
		return
	}
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": errUpstreamToken.Error(), "ref": ref})
}
