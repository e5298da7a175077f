// Package authflow is the root of the authflow module. It holds only the
// files that ship inside the binary: the built-in strategy catalogue
// (mock_strategies.json) and the HTML pages (templates/). The code lives in
// the subpackages:
//
//	interp       ${...} templates: compile once, execute with context-aware escaping
//	strategies   strategy files: parse, merge with the catalogue, validate, explain
//	engine       run a strategy: authorize URL, callback steps, JWT verification, refresh, revoke
//	store        server-side state: pending logins, session records, locks (memory, Redis)
//	server       the HTTP surface: login routes, sessions, refresh, sign-out, forward-auth, middleware
//	devidp       a development OpenID provider (zitadel/oidc op) for the demo and the tests
//	cmd/authflow the CLI (serve, validate, explain, providers)
//
// Data flows one way, top to bottom; nothing lower imports anything higher.
package authflow

import _ "embed"

// MockStrategies is the built-in strategy catalogue, mock_strategies.json,
// embedded in the binary. A user's strategy of the same name overrides it key
// by key; see package strategies.
//
//go:embed mock_strategies.json
var MockStrategies []byte
