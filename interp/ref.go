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
	// Segment reports the path-segment marker, ${segment:NAME}: in a URI
	// template's path, the value fills exactly one path segment. It is
	// path-escaped whatever its origin, and refused when empty, "." or
	// "..", or when it holds '/' or '\' (see SegmentPrefix). Raw, Root
	// and Path describe NAME, without the marker.
	Segment bool
}

// SegmentPrefix marks a placeholder whose value is one URI path segment:
// ${segment:token.access_token}.
const SegmentPrefix = "segment:"

// String returns the placeholder as written: ${Raw}, or
// ${segment:Raw} for a path-segment placeholder.
func (r Ref) String() string {
	if r.Segment {
		return "${" + SegmentPrefix + r.Raw + "}"
	}
	return "${" + r.Raw + "}"
}

// parseRef checks one placeholder's text.
func parseRef(raw string) (Ref, error) {
	if inner, ok := strings.CutPrefix(raw, SegmentPrefix); ok {
		r, err := parseRef(inner)
		if err != nil {
			return Ref{}, err
		}
		if r.Segment {
			return Ref{}, fmt.Errorf("placeholder ${%s}: the segment marker is given twice", raw)
		}
		r.Segment = true
		return r, nil
	}
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
