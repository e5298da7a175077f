package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestCLIMessages: what a newcomer's first mistakes print, word for word.
func TestCLIMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"explain without a name", []string{"explain", "../../testdata/spec_example.json"}, 2,
			"explain: accepts 2 arg(s), received 1\nUsage: authflow explain FILE NAME [flags]\nRun 'authflow explain --help' for more."},
		{"validate without a file", []string{"validate"}, 2,
			"validate: requires at least 1 arg(s), only received 0\nUsage: authflow validate FILE... [flags]\nRun 'authflow validate --help' for more."},
		{"a misspelt flag", []string{"validate", "--formt", "json", "x.json"}, 2,
			"validate: unknown flag: --formt\nUsage: authflow validate FILE... [flags]\nRun 'authflow validate --help' for more."},
		{"serve with an argument", []string{"serve", "strategies.json"}, 2,
			"serve: takes no arguments, got \"strategies.json\": name the strategies file with --strategies strategies.json\nUsage: authflow serve [flags]\nRun 'authflow serve --help' for more."},
		{"a misspelt command", []string{"serv"}, 2,
			"unknown command \"serv\" (did you mean \"serve\"?)\nUsage: authflow COMMAND [flags]\nRun 'authflow --help' for the commands."},
		{"a misspelt strategy", []string{"explain", "../../testdata/spec_example.json", "acm"}, 2,
			`../../testdata/spec_example.json has no strategy "acm" (did you mean "acme"?); its one strategy is acme`},
		{"an unknown strategy among several", []string{"explain", "../../testdata/schema_example.json", "nope"}, 2,
			`../../testdata/schema_example.json has no strategy "nope"; its strategies are keycloak and acme`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runCLI(t, tt.args...)
			if code != tt.code || out != tt.want {
				t.Errorf("exit %d, want %d\ngot:\n%s\nwant:\n%s", code, tt.code, out, tt.want)
			}
		})
	}
}

// TestServeEnvUnsetMessage: an unset ${env.NAME} names the variable, the
// key and the strategy.
func TestServeEnvUnsetMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dex.json")
	os.WriteFile(path, []byte(`{"base_uri": "https://app.example.com", "strategies": {
  "dex": {"extends": "oidc", "issuer": "https://dex.example", "client_id": "authflow", "client_secret": "${env.AUTHFLOW_TEST_DEX_CLIENT_SECRET}"}}}`), 0o600)
	_, err := tryServe(t, "--strategies="+path)
	want := "engine: " + path + `: environment variable AUTHFLOW_TEST_DEX_CLIENT_SECRET is not set (client_secret of strategy "dex")`
	if err == nil || err.Error() != want {
		t.Fatalf("serve: %v\nwant: %s", err, want)
	}
}

// TestValidateJSONPositions: --format json gives a semantic problem its
// line and column, as the text does.
func TestValidateJSONPositions(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "validate", "--format", "json", "../../testdata/broken.json")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var got struct {
		Problems []struct {
			Step, Field string
			Line        int `json:"line"`
			Column      int `json:"column"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, p := range got.Problems {
		if p.Step == "token" && p.Field == "form.code" {
			if p.Line != 12 || p.Column != 21 {
				t.Errorf("form.code at line %d, column %d, want 12, 21", p.Line, p.Column)
			}
			return
		}
	}
	t.Fatalf("no form.code problem:\n%s", out)
}

// TestVersionText: the version, the Go version and the VCS revision.
func TestVersionText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4f2c1e9a7b3d"}, {Key: "vcs.time", Value: "2026-11-30T10:12:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"authflow v1.2.0\ngo: go1.27.3\nrevision: 4f2c1e9a7b3d (2026-11-30T10:12:00Z)\n"},
		{"dirty checkout", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4f2c1e9a7b3d"}, {Key: "vcs.modified", Value: "true"}}},
			"authflow (devel: built from a source tree, not a release)\ngo: go1.27.3\nrevision: 4f2c1e9a7b3d (with uncommitted changes)\n"},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}},
			"authflow (devel: built from a source tree, not a release)\ngo: go1.27.3\nrevision: unknown (not built from a git checkout, or with -buildvcs=false)\n"},
		{"no build info", nil, "authflow (unknown version: the binary carries no build information)\n"},
	}
	for _, tt := range tests {
		if got := versionText(tt.info); got != tt.want {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tt.name, got, tt.want)
		}
	}
	if code, out := runCLI(t, "version"); code != 0 || out == "" {
		t.Errorf("authflow version: exit %d: %q", code, out)
	}
}
