package strategies

import (
	"fmt"
	"strings"
)

// Severity tells an error (the file is refused) from a warning.
type Severity int

const (
	// SevError refuses the file.
	SevError Severity = iota
	// SevWarning is reported but the file loads.
	SevWarning
)

func (s Severity) String() string {
	if s == SevWarning {
		return "warning"
	}
	return "error"
}

// MarshalJSON writes the severity as "error" or "warning".
func (s Severity) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// Problem is one finding about a strategy file. Its Error text is the line
// `authflow validate` prints, with the line and column of what it names
// in the file (of the strategy, step or key it is about, as far as the
// file writes it):
//
//	FILE: strategy "okta": step "token": form.code: unknown variable ${auht.code} (line 12, column 21)
//	FILE: line 5, column 3: trailing comma before "}"
type Problem struct {
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"` // 0 when unknown (a strategy compiled from Go)
	Col      int      `json:"column,omitempty"`
	Strategy string   `json:"strategy,omitempty"`
	Step     string   `json:"step,omitempty"`
	Field    string   `json:"field,omitempty"` // dotted, e.g. form.code, config.headers.Accept
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	b.WriteString(": ")
	// A problem of the JSON itself is its position; any other starts with
	// what it is about, and ends with where that is written.
	syntax := p.Strategy == "" && p.Step == "" && p.Field == ""
	if p.Line > 0 && syntax {
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Col)
	}
	if p.Severity == SevWarning {
		b.WriteString("warning: ")
	}
	if p.Strategy != "" {
		fmt.Fprintf(&b, "strategy %q: ", p.Strategy)
	}
	if p.Step != "" {
		fmt.Fprintf(&b, "step %q: ", p.Step)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 && !syntax {
		fmt.Fprintf(&b, " (line %d, column %d)", p.Line, p.Col)
	}
	return b.String()
}

// Problems is a list of findings. As an error it holds at least one error
// (not only warnings) and prints one problem per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any problem is an error rather than a warning.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SevError {
			return true
		}
	}
	return false
}

// Split returns the errors and the warnings.
func (ps Problems) Split() (errs, warnings Problems) {
	for _, p := range ps {
		if p.Severity == SevError {
			errs = append(errs, p)
		} else {
			warnings = append(warnings, p)
		}
	}
	return errs, warnings
}

// reporter collects problems for one file.
type reporter struct {
	file string
	ps   Problems
}

func (r *reporter) errorf(strategy, step, field, format string, args ...any) {
	r.add(SevError, strategy, step, field, fmt.Sprintf(format, args...))
}

func (r *reporter) warnf(strategy, step, field, format string, args ...any) {
	r.add(SevWarning, strategy, step, field, fmt.Sprintf(format, args...))
}

func (r *reporter) add(sev Severity, strategy, step, field, msg string) {
	r.ps = append(r.ps, Problem{File: r.file, Strategy: strategy, Step: step, Field: field, Severity: sev, Message: msg})
}

// errors returns the errors reported so far.
func (r *reporter) errors() Problems {
	errs, _ := r.ps.Split()
	return errs
}

// warnings returns the warnings reported so far.
func (r *reporter) warnings() Problems {
	_, w := r.ps.Split()
	return w
}
