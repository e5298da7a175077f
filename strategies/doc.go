// Package strategies reads authflow strategy files and compiles them into a
// Plan: it parses a file once, with precise errors, merges each strategy
// over the built-in catalogue (mock_strategies.json) key by key, checks it,
// and compiles every template once, knowing its phase (authorize URL, login
// steps, refresh, revoke, logout, the fixed verification settings), its
// escaping context and, from the scope table (scope.go), where each
// placeholder's value comes from and how far it is trusted.
//
//	plan, err := strategies.Load("strategies.json")
//	if err != nil { ... }                  // a Problems value: one line per problem
//	for _, w := range plan.Warnings() { log.Print(w) }
//	okta := plan.Strategy("okta")          // compiled; package engine runs it
//
// `authflow validate` runs exactly this compile (Check); `authflow serve`
// runs it too (Load), then binds the plan to the environment, an HTTP
// client and key sets with engine.New. A Plan is only made by Load, Parse
// and Compile, and only for a file without errors: there is no way to build
// one around the checks. Its zero-value defaults are the safe ones; what
// turns a protection off says so in its name (Strategy.InsecureNoPKCE,
// Step.InsecureSkipVerify).
//
// The package knows what a strategy means (which keys exist, which
// placeholders each template may read) but runs nothing: package engine does.
package strategies
