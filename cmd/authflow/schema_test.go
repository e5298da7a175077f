package main

import (
	"encoding/json"
	"testing"

	"github.com/authflow/authflow/strategies"
)

func TestSchemaPrintsSchema(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "schema")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if out != string(strategies.Schema()) {
		t.Fatalf("output is not the embedded schema:\n%s", out)
	}
	var doc struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID == "" {
		t.Fatalf("$schema %q, $id %q", doc.Schema, doc.ID)
	}
}

func TestSchemaTakesNoArguments(t *testing.T) {
	t.Parallel()
	if code, out := runCLI(t, "schema", "extra"); code == 0 {
		t.Fatalf("exit 0 with an argument: %s", out)
	}
}
