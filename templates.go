package authflow

import "embed"

// Templates holds the HTML pages authflow serves (templates/*.html): the
// strategy chooser, the account page, the error and not-found pages, the
// partials they share (layout.html) and the demo's pages. Package server
// parses them with html/template, which escapes every value for its
// context; docs/templates.md lists each and the data it receives.
//
//go:embed templates/*.html
var Templates embed.FS
