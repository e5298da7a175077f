package authflow

import "embed"

// Templates holds the HTML pages authflow serves (templates/*.html): the
// strategy chooser and the error page. Package server parses them with
// html/template, which escapes every value for its context.
//
//go:embed templates/*.html
var Templates embed.FS
