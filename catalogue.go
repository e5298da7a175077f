// Package authflow is the root of the authflow module. It holds only the
// files that ship inside the binary: the built-in strategy catalogue
// (mock_strategies.json) and the HTML pages (templates/). The code lives in
// the subpackages:
//
//	interp       ${...} templates: compile once for a context, execute with escaping
//	strategies   strategy files: parse once, merge with the catalogue, check and compile into a Plan, explain
//	engine       run a Plan: authorize URL, callback steps, JWT verification, refresh, revoke
//	store        server-side state: pending logins, session records, locks (memory, Redis)
//	server       the HTTP surface: login routes, sessions, refresh, sign-out, forward-auth, middleware
//	devidp       a development OpenID provider (zitadel/oidc op) for the demo and the tests
//	cmd/authflow the CLI (serve, validate, explain, providers)
//
// Data flows one way, top to bottom; nothing lower imports anything higher.
package authflow

import (
	"bytes"
	_ "embed"
)

//go:embed mock_strategies.json
var catalogue []byte

// Catalogue returns the built-in strategy catalogue, mock_strategies.json,
// embedded in the binary: a copy, so that no caller can change what the
// others read. A user's strategy of the same name overrides it key by key;
// see package strategies.
func Catalogue() []byte { return bytes.Clone(catalogue) }
