package interp

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
)

// Context names where a template's output is used; it decides how each
// substituted value is escaped. A template is compiled for one context.
type Context int

const (
	// Plain substitutes values as they are: a value to decode as a JWT, an
	// issuer, a strategy variable.
	Plain Context = iota
	// Header refuses values carrying CR, LF or NUL, which would split a header.
	Header
	// URI escapes by position: after the first '?' or '#' (the query) each
	// value is query-escaped; before it (scheme, host, path) only trusted
	// values (Config, Generated) may appear, as they are.
	URI
	// Form substitutes values as they are; the caller form-encodes the
	// result (url.Values), a whole field at a time.
	Form
	// JSON substitutes values as they are; the caller writes the result as
	// one JSON string (encoding/json).
	JSON
)

func (c Context) String() string {
	switch c {
	case Header:
		return "header"
	case URI:
		return "URI"
	case Form:
		return "form"
	case JSON:
		return "json"
	default:
		return "plain"
	}
}

// Origin says where a value came from, and so how far it is trusted; it
// decides where the value may go.
type Origin int

const (
	// Config values come from the strategy file, the server's settings or
	// the environment.
	Config Origin = iota
	// Generated values are made by the engine per login (state, nonce, PKCE).
	Generated
	// Request values come from the browser's request (the callback's query).
	Request
	// Provider values come from the identity provider (step results, tokens).
	Provider
	// Discovered values come from the identity provider too, but from its
	// OpenID Provider Configuration, read once when the engine starts from
	// the issuer the configuration names (OpenID Connect Discovery 1.0 §4):
	// like a jwks_uri written in the file, they are fixed before any
	// request and may form a URI's scheme, host and path.
	Discovered
	// Param values come from the browser's login request (a strategy's
	// login_params), each matched whole against a pattern from the
	// configuration. Like Request values they belong in a URI's query;
	// besides, one may form a single label of a URI's host whose other
	// labels are literal text (the strategy's validation checks the
	// template), and there its value must be a DNS label: letters, digits
	// and inner hyphens, 1 to 63 of them, so it can never add a dot, a
	// port, a path or userinfo, nor move the URI to another host.
	Param
)

// Trusted reports whether a value of this origin may form a URI's scheme,
// host or path: Config, Generated and Discovered values may, Request and
// Provider values may not.
func (o Origin) Trusted() bool { return o == Config || o == Generated || o == Discovered }

func (o Origin) String() string {
	switch o {
	case Generated:
		return "generated"
	case Request:
		return "request"
	case Provider:
		return "identity provider"
	case Discovered:
		return "discovery"
	case Param:
		return "login parameter"
	default:
		return "config"
	}
}

// ErrUnsafeValue is wrapped by execution errors for a value refused in its
// context: an untrusted value in a URI's scheme, host or path, or CR/LF in a
// header.
var ErrUnsafeValue = errors.New("unsafe value")

// escapeState follows a URI being built, to know whether the query has begun.
type escapeState struct {
	ctx     Context
	inQuery bool
	// inHost: the output so far ends inside a URI's authority (after
	// "://", before the path).
	inHost bool
}

// observe notes literal or substituted output already written.
func (s *escapeState) observe(written []byte) {
	if s.ctx != URI || s.inQuery {
		return
	}
	if i := bytes.Index(written, []byte("://")); i >= 0 {
		s.inHost, written = true, written[i+3:]
	}
	if bytes.ContainsAny(written, "/?#") {
		s.inHost = false
	}
	if bytes.ContainsAny(written, "?#") {
		s.inQuery = true
	}
}

// isDNSLabel reports whether v is one DNS label (RFC 1123 §2.1): 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen.
func isDNSLabel(v string) bool {
	if len(v) == 0 || len(v) > 63 || v[0] == '-' || v[len(v)-1] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// escape returns v as it must be written at the current position; written
// holds the output so far.
func (s *escapeState) escape(ref Ref, v string, o Origin, written *strings.Builder) (string, error) {
	if ref.Segment {
		if s.inQuery || !pathBegun(written.String()) {
			return "", &ExecError{Ref: ref, Err: errSegmentPlace}
		}
		return PathSegment(ref, v)
	}
	switch s.ctx {
	case Header:
		if strings.ContainsAny(v, "\r\n\x00") {
			return "", &ExecError{Ref: ref, Err: errCRLF}
		}
		return v, nil
	case URI:
		if s.inQuery {
			return url.QueryEscape(v), nil
		}
		if o == Param {
			if !s.inHost || !isDNSLabel(v) {
				return "", &ExecError{Ref: ref, Err: errHostLabel}
			}
			return v, nil
		}
		if !o.Trusted() {
			return "", &ExecError{Ref: ref, Err: errUntrustedURI}
		}
		return v, nil
	default:
		return v, nil
	}
}

// PathSegment returns v escaped as one URI path segment
// (url.PathEscape: '?', '#', '%', spaces and non-ASCII are
// percent-encoded), or an *ExecError wrapping ErrUnsafeValue for a value
// that is not one segment wherever it is decoded: empty, "." or "..", or
// holding '/' or '\' (which some servers take for '/'). '%' is escaped
// too, so an encoded "%2F" reaches the server as the text %2F, never as a
// '/'.
func PathSegment(ref Ref, v string) (string, error) {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
		return "", &ExecError{Ref: ref, Err: errSegment}
	}
	return url.PathEscape(v), nil
}

// pathBegun reports whether a URI's output so far has its authority
// complete and its path begun: "scheme://host/...". A path segment placed
// earlier could change the host.
func pathBegun(written string) bool {
	i := strings.Index(written, "://")
	if i < 0 {
		return false
	}
	return strings.Contains(written[i+3:], "/")
}

var (
	errSegment      = wrapUnsafe("a path segment may not be empty, \".\" or \"..\", or hold '/' or '\\'")
	errSegmentPlace = wrapUnsafe("a path segment may stand only in the path, after the host")
	errCRLF         = wrapUnsafe("a header value may not contain CR, LF or NUL")
	errUntrustedURI = wrapUnsafe("a value from the request or the identity provider may not form the scheme, host or path of a URI")
	errHostLabel    = wrapUnsafe("a login parameter in a URI's host must be one DNS label (letters, digits, inner hyphens; at most 63)")
)

type unsafeError struct{ msg string }

func (e *unsafeError) Error() string { return e.msg }
func (e *unsafeError) Unwrap() error { return ErrUnsafeValue }

func wrapUnsafe(msg string) error { return &unsafeError{msg} }
