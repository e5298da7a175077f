package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	code := 0
	if err := root.Execute(); err != nil {
		if c, ok := err.(exitError); ok {
			code = int(c)
		} else {
			code = 2
			out.WriteString(err.Error())
		}
	}
	return code, out.String()
}

func TestValidateExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"valid file", []string{"validate", "../../testdata/spec_example.json"}, 0, []string{"spec_example.json: ok"}},
		{"broken file", []string{"validate", "../../testdata/broken.json"}, 1, []string{`strategy "jwt": the name "jwt" is reserved`, `step "token": form.code: unknown variable ${auht.code}`}},
		{"one bad of two fails", []string{"validate", "../../testdata/spec_example.json", "../../testdata/broken.json"}, 1, []string{"spec_example.json: ok", "broken.json: "}},
		{"missing file", []string{"validate", "nope.json"}, 1, []string{"nope.json: open nope.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "validate", "--format", "json", "../../testdata/broken.json")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var got struct {
		Valid    bool `json:"valid"`
		Problems []struct {
			File, Strategy, Step, Field, Message, Severity string
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, p := range got.Problems {
		if p.Strategy == "acme" && p.Step == "token" && p.Field == "form.code" && p.Severity == "error" {
			found = true
		}
	}
	if got.Valid || !found {
		t.Fatalf("valid=%v, problem for form.code found=%v:\n%s", got.Valid, found, out)
	}
}

func TestExplainUnknownStrategy(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "explain", "../../testdata/spec_example.json", "nope")
	if code == 0 || !strings.Contains(out, `has no strategy "nope"`) {
		t.Fatalf("exit %d: %s", code, out)
	}
}

func TestProvidersListsCatalogue(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "providers")
	if code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Fatalf("exit %d: %s", code, out)
	}
}
