package interp

import (
	"fmt"
	"strings"
)

// Ref is one ${...} placeholder of a template.
type Ref struct {
	// Raw is the placeholder text between "${" and "}", e.g. "token.id_token".
	Raw string
	// Root is the first dot-separated segment, e.g. "token", "auth", "env",
	// or a variable name such as "client_id".
	Root string
	// Path is the rest after the first dot (a gjson path into a step result,
	// a query parameter, an environment variable name); empty when absent.
	Path string
	// Index is the placeholder's position among its template's Refs.
	Index int
	// InQuery reports, in a URI template, that the literal text before the
	// placeholder has begun the query (a '?' or '#'): the value is
	// query-escaped there. Before it, the value forms the scheme, host or
	// path. At run time a trusted value holding '?' may begin the query
	// earlier; InQuery is what the template's text alone decides.
	InQuery bool
}

// String returns the placeholder as written: ${Raw}.
func (r Ref) String() string { return "${" + r.Raw + "}" }

// parseRef checks one placeholder's text.
func parseRef(raw string) (Ref, error) {
	if raw == "" {
		return Ref{}, fmt.Errorf("empty placeholder ${}")
	}
	if strings.TrimSpace(raw) != raw || strings.ContainsAny(raw, " \t\r\n") {
		return Ref{}, fmt.Errorf("placeholder ${%s} contains white space", raw)
	}
	if strings.Contains(raw, "${") {
		return Ref{}, fmt.Errorf("nested placeholder in ${%s}", raw)
	}
	root, path, _ := strings.Cut(raw, ".")
	if root == "" {
		return Ref{}, fmt.Errorf("placeholder ${%s} has no name before the dot", raw)
	}
	for _, c := range root {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return Ref{}, fmt.Errorf("placeholder ${%s}: %q is not a valid name", raw, root)
		}
	}
	if strings.Contains(raw, ".") && path == "" {
		return Ref{}, fmt.Errorf("placeholder ${%s} ends in a dot", raw)
	}
	return Ref{Raw: raw, Root: root, Path: path}, nil
}
