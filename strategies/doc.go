// Package strategies reads authflow strategy files: it parses them with
// precise errors, merges each strategy over the built-in catalogue
// (mock_strategies.json) key by key, decodes the result into a Strategy and
// validates it, reporting every problem with its file, strategy, step and
// field.
//
//	set, err := strategies.Load("strategies.json")
//	if err != nil { ... }           // a Problems value: one line per problem
//	for _, w := range set.Warnings { log.Print(w) }
//	s := set.Lookup("okta")
//
// The package knows what a strategy means (which keys exist, which
// placeholders each template may read) but runs nothing: package engine does.
package strategies
