package strategies

import (
	"bytes"
	_ "embed"
)

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of a strategy file,
// schema.json, for editors: a file that names it in its "$schema" key gets
// completion, hover documentation and structural checks (key names and
// types, step fields, the reserved strategy name, allowed algorithms, what
// an HTTP or a decode step needs). `authflow schema` prints it. Each call
// returns a copy.
//
// The schema describes what a file may say, not everything the loader
// checks: placeholders (${...}), step order and values left empty are
// checked by Load and Check only. A file Load accepts validates against the
// schema; strategies/schema_test.go keeps the two in agreement and lists
// where they differ.
func Schema() []byte { return bytes.Clone(schema) }
