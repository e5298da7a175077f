// Package interp compiles and executes authflow's ${...} templates.
//
// A template is compiled once, when a strategy file loads, for the context
// its output goes to:
//
//	t, err := interp.Compile("https://idp.test/authorize?client_id=${client_id}&state=${state}", interp.URI)
//	for _, r := range t.Refs() { ... }   // what it reads, and where (r.InQuery), for validation
//	s, err := t.Execute(lookup)          // per request, escaped for its context
//
// Execution escapes each substituted value for the template's Context. The
// lookup says where a value came from (Origin): values that came from the
// request or the identity provider may never form a URI's scheme, host or
// path, and a header value may never carry CR or LF. The one explicit
// exception is the path-segment marker, ${segment:NAME}: its value, of any
// origin, fills exactly one path segment after the host, path-escaped, and
// is refused when empty, "." or "..", or holding '/' or '\' (see
// PathSegment). Which placeholders a
// template may read, and with which origin, is package strategies' scope
// table; interp only parses and escapes.
//
// Templates are built on github.com/valyala/fasttemplate, which does no
// escaping of its own; all escaping happens here.
package interp
