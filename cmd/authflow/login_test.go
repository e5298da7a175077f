package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

// The devidp clients of these tests: a confidential client with a device
// login, a native (public) client with a loopback redirect URI, and a
// service client.
const (
	cliClient    = "cli-app"
	cliSecret    = "cli:s3cret/+@"
	nativeClient = "native-app"
	svcClient    = "svc-app"
	svcSecret    = "svc-s3cret"
	loopbackCB   = "http://127.0.0.1/auth/devloop/callback"
)

// cliFixture is a devidp and a strategy file for it.
type cliFixture struct {
	idp  *devidp.Provider
	iss  string
	file string
	deps clientDeps
}

func newCLIFixture(t *testing.T) *cliFixture {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	iss := "http://" + srv.Listener.Addr().String()
	p, err := devidp.New(devidp.Options{
		Issuer: iss,
		Clients: []devidp.Client{
			{ID: cliClient, Secret: cliSecret, RedirectURIs: []string{"https://unused.example/cb"}},
			{ID: nativeClient, Native: true, RedirectURIs: []string{loopbackCB}},
			{ID: svcClient, Secret: svcSecret, RedirectURIs: []string{"https://unused.example/cb"}},
		},
		Users: []devidp.User{authtest.Ada()},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "strategies.json")
	body := strings.ReplaceAll(`{"strategies": {
	  "dev":     {"extends": "oidc", "issuer": "ISS", "client_id": "cli-app", "client_secret": "${env.CLI_SECRET}"},
	  "devloop": {"extends": "oidc", "issuer": "ISS", "client_id": "native-app", "device_uri": ""},
	  "svc":     {"extends": "oidc", "issuer": "ISS", "client_id": "svc-app", "client_secret": "${env.SVC_SECRET}",
	              "grant_type": "client_credentials", "scope": "groups"},
	  "svcbad":  {"extends": "oidc", "issuer": "ISS", "client_id": "svc-app", "client_secret": "wrong-secret-value",
	              "grant_type": "client_credentials"}}}`, "ISS", iss)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CLI_SECRET": cliSecret, "SVC_SECRET": svcSecret}
	return &cliFixture{idp: p, iss: iss, file: file, deps: clientDeps{
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}}
}

// lines is an io.Writer that hands over each line written.
type lines struct {
	mu       sync.Mutex
	buf, all bytes.Buffer
	ch       chan string
}

// String returns everything written.
func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

func newLines() *lines { return &lines{ch: make(chan string, 100)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.all.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		l.ch <- string(l.buf.Next(i + 1))
	}
	return len(p), nil
}

// url waits for the indented URL line the command prints.
func (l *lines) url(t *testing.T) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-l.ch:
			if u, ok := strings.CutPrefix(line, "  http"); ok {
				return "http" + strings.TrimSpace(u)
			}
		case <-timeout:
			t.Fatal("no URL printed")
		}
	}
}

// runClient runs `authflow NAME args...` built with deps; stderr to
// errOut. It returns the exit status and stdout.
func runClient(t *testing.T, deps clientDeps, errOut *lines, args ...string) (int, string) {
	t.Helper()
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "token" || c.Name() == "login" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newTokenCmd(deps), newLoginCmd(deps))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(errOut)
	root.SetArgs(args)
	code := 0
	if err := root.Execute(); err != nil {
		if c, ok := err.(exitError); ok {
			code = int(c)
		} else {
			code = 2
			errOut.Write([]byte(err.Error() + "\n"))
		}
	}
	return code, out.String()
}

// clientResult is how a command run by startClient ended.
type clientResult struct {
	code int
	out  string
}

// startClient is runClient in the background, for a command that waits
// on the test (a device approval, a browser at the loopback listener).
func startClient(t *testing.T, deps clientDeps, errOut *lines, args ...string) <-chan clientResult {
	done := make(chan clientResult, 1)
	go func() {
		code, out := runClient(t, deps, errOut, args...)
		done <- clientResult{code, out}
	}()
	return done
}

// introspect asks devidp about a token, as the service client.
func (f *cliFixture) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.iss+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(svcClient, svcSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// TestTokenCommand: `authflow token` prints the access token alone, one
// that devidp introspects as active; a refused client prints nothing on
// stdout, and its error on stderr holds no secret.
func TestTokenCommand(t *testing.T) {
	t.Parallel()
	f := newCLIFixture(t)
	errOut := newLines()
	code, out := runClient(t, f.deps, errOut, "token", f.file, "svc")
	if code != 0 || errOut.String() != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	tok := strings.TrimSuffix(out, "\n")
	if tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("stdout %q: want the token alone", out)
	}
	if info := f.introspect(t, tok); info["active"] != true || info["client_id"] != svcClient {
		t.Errorf("introspection: %v", info)
	}

	errOut = newLines()
	code, out = runClient(t, f.deps, errOut, "token", f.file, "svcbad")
	if code != 1 || out != "" || !strings.Contains(errOut.String(), "invalid_client") {
		t.Errorf("refused client: exit %d, stdout %q, stderr %q", code, out, errOut.String())
	}
	if strings.Contains(errOut.String(), "wrong-secret-value") {
		t.Errorf("the secret is in the error: %s", errOut.String())
	}
	errOut = newLines()
	if code, out = runClient(t, f.deps, errOut, "token", f.file, "dev"); code != 1 || out != "" {
		t.Errorf("a login strategy: exit %d, stdout %q", code, out)
	}
}

// approvedSleep is a device poll's wait that lasts until approved is
// closed, then none: no real seconds go by.
func approvedSleep(approved <-chan struct{}) func(context.Context, time.Duration) error {
	return func(ctx context.Context, _ time.Duration) error {
		select {
		case <-approved:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TestLoginDevice: `authflow login` with the device grant against devidp:
// the link goes to stderr, the user approves on devidp's page, and the
// verified user object is printed; a denial exits 1.
func TestLoginDevice(t *testing.T) {
	t.Parallel()
	for _, approve := range []bool{true, false} {
		t.Run(map[bool]string{true: "approved", false: "denied"}[approve], func(t *testing.T) {
			t.Parallel()
			f := newCLIFixture(t)
			answered := make(chan struct{})
			f.deps.sleep = approvedSleep(answered)
			errOut := newLines()
			done := startClient(t, f.deps, errOut, "login", f.file, "dev")
			link := errOut.url(t)
			answer := f.idp.ApproveDevice
			if !approve {
				answer = f.idp.DenyDevice
			}
			if err := answer(context.Background(), nil, link, "", authtest.Ada().Username, authtest.Ada().Password); err != nil {
				t.Fatal(err)
			}
			close(answered)
			res := <-done
			if !approve {
				if res.code != 1 || res.out != "" || !strings.Contains(errOut.String(), "denied") {
					t.Fatalf("denied: exit %d, stdout %q, stderr %s", res.code, res.out, errOut.String())
				}
				return
			}
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %s", res.code, errOut.String())
			}
			var user map[string]any
			if err := json.Unmarshal([]byte(res.out), &user); err != nil {
				t.Fatalf("stdout %q: %v", res.out, err)
			}
			if user["sub"] != authtest.Ada().ID || user["email"] != authtest.Ada().Email || user["azp"] != cliClient {
				t.Errorf("user object %v", user)
			}
		})
	}
}

// TestLoginLoopback: `authflow login` of a strategy without a device
// login: the browser URL goes to stderr; a browser signs in on devidp's
// login form and follows the redirect to the listener on 127.0.0.1; the
// user object is printed.
func TestLoginLoopback(t *testing.T) {
	t.Parallel()
	f := newCLIFixture(t)
	errOut := newLines()
	done := startClient(t, f.deps, errOut, "login", f.file, "devloop")
	authURL := errOut.url(t)
	back, err := f.idp.Login(context.Background(), nil, authURL, authtest.Ada().Username, authtest.Ada().Password)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hostname() != "127.0.0.1" || back.Path != "/auth/devloop/callback" || back.Query().Get("code") == "" {
		t.Fatalf("devidp sent the browser to %s", back.Redacted())
	}
	resp, err := http.Get(back.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := <-done
	if resp.StatusCode != http.StatusOK || res.code != 0 {
		t.Fatalf("callback %d, exit %d, stderr %s", resp.StatusCode, res.code, errOut.String())
	}
	var user map[string]any
	if err := json.Unmarshal([]byte(res.out), &user); err != nil || user["sub"] != authtest.Ada().ID || user["email"] != authtest.Ada().Email {
		t.Fatalf("user object %q (%v)", res.out, err)
	}
}
