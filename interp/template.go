package interp

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/valyala/fasttemplate"
)

const (
	startTag = "${"
	endTag   = "}"
)

// Template is a compiled ${...} template for one Context. It is immutable
// and safe for concurrent use.
type Template struct {
	src      string
	ctx      Context
	t        *fasttemplate.Template
	refs     []Ref
	literals []string // the text around the placeholders: len(refs)+1 pieces
}

// Lookup resolves one placeholder during Execute. It reports the value, where
// the value came from, and whether it was found.
type Lookup func(ref Ref) (value string, origin Origin, ok bool)

// ErrMissing is wrapped by execution errors for a placeholder whose value
// cannot be resolved.
var ErrMissing = errors.New("no value")

// ExecError is the error Execute returns; it names the placeholder.
type ExecError struct {
	Ref Ref
	Err error
}

func (e *ExecError) Error() string { return fmt.Sprintf("%s: %v", e.Ref, e.Err) }

// Unwrap returns the cause (ErrMissing, or an error wrapping ErrUnsafeValue).
func (e *ExecError) Unwrap() error { return e.Err }

// Compile parses src as a template whose output is used in ctx. It fails on
// an unclosed "${", an empty placeholder, or a placeholder with white space
// or an invalid name.
func Compile(src string, ctx Context) (*Template, error) {
	t, err := fasttemplate.NewTemplate(src, startTag, endTag)
	if err != nil {
		return nil, fmt.Errorf("interp: %w", err)
	}
	tpl := &Template{src: src, ctx: ctx, t: t}
	var firstErr error
	// Walk the template once: fasttemplate writes the literal text and
	// calls back for each tag, so the pieces and the tags come in order.
	lit := &pieceWriter{}
	inQuery := false
	t.ExecuteFunc(lit, func(_ io.Writer, tag string) (int, error) {
		text := lit.take()
		if ctx == URI && strings.ContainsAny(text, "?#") {
			inQuery = true
		}
		tpl.literals = append(tpl.literals, text)
		r, err := parseRef(tag)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		r.Index, r.InQuery = len(tpl.refs), inQuery
		tpl.refs = append(tpl.refs, r)
		return 0, nil
	})
	tpl.literals = append(tpl.literals, lit.take())
	if firstErr != nil {
		return nil, fmt.Errorf("interp: %w", firstErr)
	}
	for _, text := range tpl.literals {
		if strings.Contains(text, startTag) {
			return nil, fmt.Errorf("interp: unclosed %q", startTag)
		}
	}
	for _, r := range tpl.refs {
		if r.Segment {
			if err := tpl.checkSegment(r); err != nil {
				return nil, fmt.Errorf("interp: %s: %w", r, err)
			}
		}
	}
	return tpl, nil
}

// checkSegment checks where a ${segment:NAME} placeholder stands: in a URI
// template's path, after the host, filling one whole segment (a '/'
// before it, and after it a '/', '?', '#' or the end).
func (t *Template) checkSegment(r Ref) error {
	before, after := t.literals[r.Index], t.literals[r.Index+1]
	switch {
	case t.ctx != URI:
		return errors.New("a path segment is for URI templates only")
	case r.InQuery:
		return errors.New("a path segment belongs in the path, before the query; in the query a value is query-escaped anyway")
	case !strings.HasSuffix(before, "/") || strings.HasSuffix(before, "//") || strings.HasSuffix(before, ":/"):
		return errors.New("a path segment must follow a '/' of the path, after the host")
	case after == "" && r.Index+1 < len(t.refs):
		return errors.New("a path segment must be the whole segment: follow it with '/', '?', '#' or the end, not another placeholder")
	case after != "" && !strings.ContainsRune("/?#", rune(after[0])):
		return errors.New("a path segment must be the whole segment: follow it with '/', '?', '#' or the end")
	}
	return nil
}

// MustCompile is like Compile but panics on error. For tests and constants.
func MustCompile(src string, ctx Context) *Template {
	t, err := Compile(src, ctx)
	if err != nil {
		panic(err)
	}
	return t
}

// pieceWriter collects the literal text fasttemplate writes between tags.
type pieceWriter struct{ b strings.Builder }

func (w *pieceWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

func (w *pieceWriter) take() string {
	s := w.b.String()
	w.b.Reset()
	return s
}

// String returns the template's source text.
func (t *Template) String() string { return t.src }

// Context returns the context the template was compiled for.
func (t *Template) Context() Context { return t.ctx }

// Refs returns the placeholders in the order they appear. The slice is the
// template's own: do not change it.
func (t *Template) Refs() []Ref { return t.refs }

// Literal returns the text before placeholder i (0 ≤ i < len(Refs())), or,
// for i == len(Refs()), the text after the last one.
func (t *Template) Literal(i int) string { return t.literals[i] }

// IsLiteral reports whether the template has no placeholders.
func (t *Template) IsLiteral() bool { return len(t.refs) == 0 }

// Execute substitutes every placeholder with its value from lookup, escaped
// for the template's context. A placeholder lookup cannot resolve fails with
// an *ExecError wrapping ErrMissing.
func (t *Template) Execute(lookup Lookup) (string, error) {
	if len(t.refs) == 0 {
		return t.src, nil
	}
	w := &trackingWriter{state: escapeState{ctx: t.ctx}}
	w.b.Grow(len(t.src) + 64)
	i := 0
	_, err := t.t.ExecuteFunc(w, func(_ io.Writer, _ string) (int, error) {
		ref := t.refs[i]
		i++
		v, origin, ok := lookup(ref)
		if !ok {
			return 0, &ExecError{Ref: ref, Err: ErrMissing}
		}
		esc, err := w.state.escape(ref, v, origin, &w.b)
		if err != nil {
			return 0, err
		}
		return w.Write([]byte(esc))
	})
	if err != nil {
		return "", err
	}
	return w.b.String(), nil
}

// trackingWriter collects output and tells the escape state what was written.
type trackingWriter struct {
	b     strings.Builder
	state escapeState
}

func (w *trackingWriter) Write(p []byte) (int, error) {
	w.state.observe(p)
	return w.b.Write(p)
}
