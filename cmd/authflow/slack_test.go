package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// TestSlackNoPKCEWithSecret: the built-in slack is a confidential client
// (client_secret at the token endpoint), and Slack turns an app that uses
// PKCE into a public client (docs/providers.md), so it sends no PKCE; the
// nonce, checked in the ID token, binds the code instead, and validate's
// code-injection warning does not fire.
func TestSlackNoPKCEWithSecret(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "slack.json")
	file := `{"base_uri": "https://app.example.com", "strategies": {"slack": {"client_id": "2141029472.691202649728", "client_secret": "${env.SLACK_CLIENT_SECRET}"}}}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runCLI(t, "validate", path); code != 0 || out != path+": ok\n" {
		t.Errorf("validate: exit %d, want 0 and no warning:\n%s", code, out)
	}
	plan, err := strategies.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategy("slack")
	if sp.PKCE() || !sp.SendsNonce() {
		t.Errorf("PKCE %v, nonce %v; want no PKCE and a nonce", sp.PKCE(), sp.SendsNonce())
	}
	for _, p := range sp.LoginSteps() {
		for _, f := range p.Form() {
			if strings.Contains(f.Value.String(), "code_verifier") || f.Name == "code_verifier" {
				t.Errorf("step %q sends %s=%s", p.Name(), f.Name, f.Value)
			}
		}
	}
	e, err := engine.New(plan, engine.Options{LookupEnv: func(string) (string, bool) { return "slack-secret", true }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Strategy("slack")
	u, err := s.AuthCodeURL(s.NewLogin())
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	if q.Get("nonce") == "" || q.Has("code_challenge") || q.Has("code_challenge_method") {
		t.Errorf("authorize URL %s: want a nonce and no code_challenge", u)
	}
}
