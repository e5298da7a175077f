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

// Template is a compiled ${...} template. It is safe for concurrent use.
type Template struct {
	src  string
	t    *fasttemplate.Template
	refs []Ref
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

// Compile parses src. It fails on an unclosed "${", an empty placeholder, or a
// placeholder with white space or an invalid name.
func Compile(src string) (*Template, error) {
	t, err := fasttemplate.NewTemplate(src, startTag, endTag)
	if err != nil {
		return nil, fmt.Errorf("interp: %w", err)
	}
	var refs []Ref
	var firstErr error
	// Walk the tags once to collect and check them; nothing is written.
	t.ExecuteFunc(io.Discard, func(_ io.Writer, tag string) (int, error) {
		r, err := parseRef(tag)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		refs = append(refs, r)
		return 0, nil
	})
	if firstErr != nil {
		return nil, fmt.Errorf("interp: %w", firstErr)
	}
	if i := strings.Index(literalOnly(src), startTag); i >= 0 {
		return nil, fmt.Errorf("interp: unclosed %q", startTag)
	}
	return &Template{src: src, t: t, refs: refs}, nil
}

// MustCompile is like Compile but panics on error. For tests and constants.
func MustCompile(src string) *Template {
	t, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return t
}

// literalOnly returns src with its well-formed placeholders removed.
func literalOnly(src string) string {
	var b strings.Builder
	for {
		i := strings.Index(src, startTag)
		if i < 0 {
			b.WriteString(src)
			return b.String()
		}
		j := strings.Index(src[i+len(startTag):], endTag)
		if j < 0 {
			b.WriteString(src)
			return b.String()
		}
		b.WriteString(src[:i])
		src = src[i+len(startTag)+j+len(endTag):]
	}
}

// String returns the template's source text.
func (t *Template) String() string { return t.src }

// Refs returns the placeholders in the order they appear.
func (t *Template) Refs() []Ref { return t.refs }

// IsLiteral reports whether the template has no placeholders.
func (t *Template) IsLiteral() bool { return len(t.refs) == 0 }

// Execute substitutes every placeholder with its value from lookup, escaped
// for ctx. A placeholder lookup cannot resolve fails with an *ExecError
// wrapping ErrMissing.
func (t *Template) Execute(ctx Context, lookup Lookup) (string, error) {
	if len(t.refs) == 0 {
		return t.src, nil
	}
	w := &trackingWriter{state: escapeState{ctx: ctx}}
	w.b.Grow(len(t.src) + 64)
	i := 0
	_, err := t.t.ExecuteFunc(w, func(_ io.Writer, _ string) (int, error) {
		ref := t.refs[i]
		i++
		v, origin, ok := lookup(ref)
		if !ok {
			return 0, &ExecError{Ref: ref, Err: ErrMissing}
		}
		esc, err := w.state.escape(ref, v, origin)
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
