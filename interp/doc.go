// Package interp compiles and executes authflow's ${...} templates.
//
// A template is compiled once, when a strategy file loads:
//
//	t, err := interp.Compile("https://idp.test/authorize?client_id=${client_id}&state=${state}")
//	for _, r := range t.Refs() { ... }            // what it reads, for validation
//	s, err := t.Execute(interp.URI, lookup)       // per request, escaped for its context
//
// Execution escapes each substituted value for the context the caller names
// (see Context). The lookup says where a value came from (Origin): values that
// came from the request or the identity provider may never form a URI's
// scheme, host or path, and a header value may never carry CR or LF.
//
// Templates are built on github.com/valyala/fasttemplate, which does no
// escaping of its own; all escaping happens here.
package interp
