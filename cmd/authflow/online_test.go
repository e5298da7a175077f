package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// onlineOP is an httptest OpenID provider whose discovery document the
// test shapes: mode "ok" serves it, "wrong-issuer" names another issuer,
// "500" fails, "hang" answers after the client gave up.
type onlineOP struct {
	*httptest.Server
	hits atomic.Int32
}

func newOnlineOP(t *testing.T, mode string) *onlineOP {
	t.Helper()
	op := &onlineOP{}
	release := make(chan struct{})
	op.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op.hits.Add(1)
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		doc := map[string]any{
			"issuer":                                op.URL,
			"authorization_endpoint":                op.URL + "/authorize",
			"token_endpoint":                        op.URL + "/token",
			"jwks_uri":                              op.URL + "/jwks",
			"userinfo_endpoint":                     op.URL + "/userinfo",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt"},
			// no revocation_endpoint, no end_session_endpoint
		}
		switch mode {
		case "wrong-issuer":
			doc["issuer"] = op.URL + "/"
		case "500":
			http.Error(w, "down", http.StatusInternalServerError)
			return
		case "hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(func() { close(release); op.Close() })
	return op
}

// onlineFile writes a strategy file with one "dex" strategy on the oidc
// built-in for the issuer; its secret reads an environment variable no test
// sets.
func onlineFile(t *testing.T, issuer string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "strategies.json")
	file := `{"strategies": {"dex": {"extends": "oidc", "issuer": "` + issuer +
		`", "client_id": "web", "client_secret": "${env.AUTHFLOW_TEST_NEVER_SET_SECRET}"}}}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateOnline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode  string
		code  int
		wants []string
	}{
		{"ok", 0, []string{`: strategy "dex": discovery {OP}/.well-known/openid-configuration: ok; ` +
			`left out: device (no device_authorization_endpoint), logout (no end_session_endpoint), revoke (no revocation_endpoint); client auth: client_secret_post (refresh, token)`}},
		{"wrong-issuer", 1, []string{`: strategy "dex": discovery {OP}/.well-known/openid-configuration: error (wrong_issuer): ` +
			`malformed response: names issuer "{OP}/", want "{OP}" (byte for byte)`}},
		{"500", 1, []string{`: strategy "dex": discovery {OP}/.well-known/openid-configuration: error (http_status): ` +
			`identity provider refused discovery (HTTP 500)`}},
		{"hang", 1, []string{`: strategy "dex": discovery {OP}/.well-known/openid-configuration: error (timeout): `}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			op := newOnlineOP(t, tt.mode)
			path := onlineFile(t, op.URL)
			start := time.Now()
			code, out := runCLI(t, "validate", "--online", "--timeout=300ms", path)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out)
			}
			if !strings.HasPrefix(out, path+": ok\n") {
				t.Errorf("the offline line does not come first:\n%s", out)
			}
			for _, w := range tt.wants {
				if w = strings.ReplaceAll(w, "{OP}", op.URL); !strings.Contains(out, path+w) {
					t.Errorf("output lacks %q:\n%s", path+w, out)
				}
			}
			if tt.mode == "hang" && time.Since(start) > 5*time.Second {
				t.Errorf("--timeout=300ms took %v", time.Since(start))
			}
			if op.hits.Load() != 1 {
				t.Errorf("%d requests to the OP, want 1", op.hits.Load())
			}
		})
	}
}

// TestValidateOnlineJSON: --format json carries the same facts.
func TestValidateOnlineJSON(t *testing.T) {
	t.Parallel()
	good, bad := newOnlineOP(t, "ok"), newOnlineOP(t, "500")
	goodPath, badPath := onlineFile(t, good.URL), onlineFile(t, bad.URL)
	code, out := runCLI(t, "validate", "--online", "--format=json", goodPath, badPath)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var got struct {
		Valid     bool `json:"valid"`
		Discovery []struct {
			File, Strategy string
			DiscoveryURL   string `json:"discovery_url"`
			OK             bool
			ErrorKind      string            `json:"error_kind"`
			Error          string            `json:"error"`
			LeftOut        map[string]string `json:"left_out"`
			ClientAuth     map[string]string `json:"client_auth"`
		} `json:"discovery"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Valid || len(got.Discovery) != 2 {
		t.Fatalf("valid=%v, %d results:\n%s", got.Valid, len(got.Discovery), out)
	}
	g, b := got.Discovery[0], got.Discovery[1]
	if g.File != goodPath || g.Strategy != "dex" || !g.OK || g.DiscoveryURL != good.URL+"/.well-known/openid-configuration" ||
		g.LeftOut["revoke"] != "revocation_endpoint" || g.LeftOut["logout"] != "end_session_endpoint" ||
		g.ClientAuth["token"] != "client_secret_post" || g.ClientAuth["refresh"] != "client_secret_post" || g.ErrorKind != "" {
		t.Errorf("served discovery: %+v", g)
	}
	if b.File != badPath || b.OK || b.ErrorKind != "http_status" || !strings.Contains(b.Error, "HTTP 500") {
		t.Errorf("failing discovery: %+v", b)
	}
}

// TestValidateOfflineDoesNotFetch: without --online, nothing is fetched,
// even for a file whose issuer answers.
func TestValidateOfflineDoesNotFetch(t *testing.T) {
	t.Parallel()
	op := newOnlineOP(t, "ok")
	path := onlineFile(t, op.URL)
	for _, args := range [][]string{{"validate", path}, {"validate", "--format=json", path}, {"explain", path, "dex"}} {
		if code, out := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
	if n := op.hits.Load(); n != 0 {
		t.Errorf("%d requests without --online", n)
	}
}

// TestValidateOnlineIssuerFromUnsetEnv: an unset variable the issuer reads
// is reported, not fetched with a placeholder; one the secret reads is not
// (TestValidateOnline's files leave theirs unset).
func TestValidateOnlineIssuerFromUnsetEnv(t *testing.T) {
	t.Parallel()
	path := onlineFile(t, "${env.AUTHFLOW_TEST_NEVER_SET_ISSUER}")
	code, out := runCLI(t, "validate", "--online", path)
	want := `strategy "dex": discovery ${env.AUTHFLOW_TEST_NEVER_SET_ISSUER}/.well-known/openid-configuration: error (env_unset): ` +
		`the issuer reads ${env.AUTHFLOW_TEST_NEVER_SET_ISSUER}, which is not set; set it to check discovery`
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want 1 and %q:\n%s", code, want, out)
	}
}

func TestExplainOnline(t *testing.T) {
	t.Parallel()
	op := newOnlineOP(t, "ok")
	path := onlineFile(t, op.URL)
	code, out := runCLI(t, "explain", "--online", path, "dex")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	offline, online, ok := strings.Cut(out, "\nonline:\n")
	if !ok || !strings.Contains(offline, "${discovery.token_endpoint}") {
		t.Fatalf("no offline plan, then online section:\n%s", out)
	}
	want := strings.ReplaceAll(`  {PATH}: strategy "dex": discovery {OP}/.well-known/openid-configuration: ok; left out: device (no device_authorization_endpoint), logout (no end_session_endpoint), revoke (no revocation_endpoint); client auth: client_secret_post (refresh, token)
plan with the discovery document's values:
  login: redirect to {OP}/authorize?…
    1. token      POST {OP}/token with client auth client_secret_post
    2. jwt        decode; verify with keys from {OP}/jwks, iss {OP}
    3. userinfo   GET {OP}/userinfo
  refresh: POST {OP}/token with client auth client_secret_post
  revoke: LEFT OUT: the discovery document names no revocation_endpoint
  logout: LEFT OUT: the discovery document names no end_session_endpoint
`, "{OP}", op.URL)
	want = strings.ReplaceAll(want, "{PATH}", path)
	if online != want {
		t.Errorf("explain --online:\n%s\nwant:\n%s", online, want)
	}
	if strings.Contains(online, "${discovery.") {
		t.Errorf("unresolved ${discovery.*}:\n%s", online)
	}

	for _, mode := range []string{"wrong-issuer", "500"} {
		bad := newOnlineOP(t, mode)
		code, out := runCLI(t, "explain", "--online", onlineFile(t, bad.URL), "dex")
		if code != 1 || !strings.Contains(out, "error (") || strings.Contains(out, "document's values:") {
			t.Errorf("%s: exit %d, want 1 with the error and no resolved plan:\n%s", mode, code, out)
		}
	}
}
