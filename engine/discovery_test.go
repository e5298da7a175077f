package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// discoveryOP is an httptest OpenID provider that serves a discovery
// document (made by doc from its URL) and records the revocation requests.
type discoveryOP struct {
	*httptest.Server
	mu      sync.Mutex
	revokes []*http.Request // with their forms parsed
}

func newDiscoveryOP(t *testing.T, doc func(op string) map[string]any) *discoveryOP {
	t.Helper()
	op := &discoveryOP{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc(op.URL))
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		op.mu.Lock()
		op.revokes = append(op.revokes, r)
		op.mu.Unlock()
	})
	op.Server = httptest.NewServer(mux)
	t.Cleanup(op.Close)
	return op
}

// fullDocument names every endpoint the built-in oidc reads.
func fullDocument(op string) map[string]any {
	return map[string]any{
		"issuer":                        op,
		"authorization_endpoint":        op + "/authorize",
		"token_endpoint":                op + "/token",
		"userinfo_endpoint":             op + "/userinfo",
		"jwks_uri":                      op + "/jwks",
		"revocation_endpoint":           op + "/revoke",
		"end_session_endpoint":          op + "/logout",
		"device_authorization_endpoint": op + "/device",
	}
}

// oidcFile is a strategy file with one strategy extending the built-in
// oidc; extra is more of its keys ("" for none).
func discoveredFile(issuer, extra string) string {
	return `{"base_uri": "https://app.example.com", "strategies": {"dex": {"extends": "oidc", "issuer": "` + issuer +
		`", "client_id": "dex-app"` + extra + `}}}`
}

func newOIDCEngine(t *testing.T, file string, timeout time.Duration) (*engine.Engine, error) {
	t.Helper()
	plan, err := strategies.Parse("oidc.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewContext(context.Background(), plan, engine.Options{
		HTTPClient:  &http.Client{},
		StepTimeout: timeout,
		LookupEnv:   func(k string) (string, bool) { return "s3cr3t:/+", k == "DEX_SECRET" },
	})
	if e != nil {
		t.Cleanup(e.Close)
	}
	return e, err
}

// TestOIDCDiscovery: the built-in oidc takes its endpoints from the
// discovery document, read when the engine starts.
func TestOIDCDiscovery(t *testing.T) {
	t.Parallel()
	op := newDiscoveryOP(t, fullDocument)
	e, err := newOIDCEngine(t, discoveredFile(op.URL, `, "client_secret": "${env.DEX_SECRET}"`), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := e.Strategy("dex")
	if s.DiscoveryURL() != op.URL+"/.well-known/openid-configuration" || len(s.LeftOut()) != 0 {
		t.Errorf("discovery %q, left out %v", s.DiscoveryURL(), s.LeftOut())
	}
	u, err := s.AuthCodeURL(s.NewLogin())
	if err != nil || !strings.HasPrefix(u, op.URL+"/authorize?response_type=code&client_id=dex-app&") {
		t.Fatalf("auth URL %q, %v", u, err)
	}
	q, _ := url.Parse(u)
	if sc := q.Query().Get("scope"); sc != "openid email profile" {
		t.Errorf("scope %q, want the default openid email profile", sc)
	}
	lo, err := s.LogoutURL("id.tok", "https://app.example.com/bye")
	if err != nil || !strings.HasPrefix(lo, op.URL+"/logout?client_id=dex-app&id_token_hint=id.tok&") {
		t.Errorf("logout URL %q, %v", lo, err)
	}
	if !s.CanRefresh() {
		t.Error("no refresh step")
	}
}

// TestOIDCClientAuth: the client authenticates as
// token_endpoint_auth_methods_supported says.
func TestOIDCClientAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		methods any    // the document's list; nil: absent
		secret  bool   // a client_secret is set
		want    string // basic, post or none
	}{
		{"list absent", nil, true, "basic"},
		{"basic listed", []string{"client_secret_post", "client_secret_basic"}, true, "basic"},
		{"post only", []string{"client_secret_post", "private_key_jwt"}, true, "post"},
		{"neither listed", []string{"private_key_jwt"}, true, "post"},
		{"public client", []string{"client_secret_basic"}, false, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := newDiscoveryOP(t, func(op string) map[string]any {
				d := fullDocument(op)
				if tt.methods != nil {
					d["token_endpoint_auth_methods_supported"] = tt.methods
				}
				return d
			})
			extra := ""
			if tt.secret {
				extra = `, "client_secret": "${env.DEX_SECRET}"`
			}
			e, err := newOIDCEngine(t, discoveredFile(op.URL, extra), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Strategy("dex").Revoke(context.Background(), engine.Tokens{AccessToken: "at-1"}); err != nil {
				t.Fatal(err)
			}
			op.mu.Lock()
			defer op.mu.Unlock()
			if len(op.revokes) != 1 {
				t.Fatalf("%d revocations", len(op.revokes))
			}
			r := op.revokes[0]
			user, pass, basic := r.BasicAuth()
			form := r.PostForm
			var got string
			switch {
			case basic && user == "dex-app" && pass == url.QueryEscape("s3cr3t:/+") && !form.Has("client_secret"):
				got = "basic"
			case !basic && form.Get("client_id") == "dex-app" && form.Get("client_secret") == "s3cr3t:/+":
				got = "post"
			case !basic && form.Get("client_id") == "dex-app" && !form.Has("client_secret"):
				got = "none"
			default:
				got = "basic " + user + ":" + pass + " form " + form.Encode()
			}
			if got != tt.want || form.Get("token") != "at-1" {
				t.Errorf("client authentication %s, token %q; want %s", got, form.Get("token"), tt.want)
			}
		})
	}
}

// TestOIDCLeavesOutSteps: a step whose endpoint the document does not name
// is left out; the login runs without it.
func TestOIDCLeavesOutSteps(t *testing.T) {
	t.Parallel()
	op := newDiscoveryOP(t, func(op string) map[string]any {
		d := fullDocument(op)
		delete(d, "userinfo_endpoint")
		delete(d, "revocation_endpoint")
		delete(d, "end_session_endpoint")
		return d
	})
	e, err := newOIDCEngine(t, discoveredFile(op.URL, `, "client_secret": "${env.DEX_SECRET}"`), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := e.Strategy("dex")
	want := map[string]string{"userinfo": "userinfo_endpoint", "revoke": "revocation_endpoint", "logout": "end_session_endpoint"}
	if got := s.LeftOut(); len(got) != len(want) || got["userinfo"] != want["userinfo"] || got["revoke"] != want["revoke"] || got["logout"] != want["logout"] {
		t.Errorf("left out %v, want %v", got, want)
	}
	if u, err := s.LogoutURL("id.tok", "https://app.example.com/bye"); u != "" || err != nil {
		t.Errorf("logout URL %q, %v: want none", u, err)
	}
	if err := s.Revoke(context.Background(), engine.Tokens{AccessToken: "at"}); err != nil || len(op.revokes) != 0 {
		t.Errorf("revoke: %v, %d requests; want no step", err, len(op.revokes))
	}
}

// TestOIDCDiscoveryFailures: a discovery document that cannot be used
// stops the engine from starting, quickly, with an error naming its URL.
func TestOIDCDiscoveryFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(op *string) http.HandlerFunc
		want    string
		is      error
	}{
		{"no token_endpoint", docHandler(func(d map[string]any) { delete(d, "token_endpoint") }),
			`names no token_endpoint, which step "token" needs`, nil},
		{"no jwks_uri", docHandler(func(d map[string]any) { delete(d, "jwks_uri") }),
			`names no jwks_uri, which step "jwt" needs`, nil},
		{"no authorization_endpoint", docHandler(func(d map[string]any) { delete(d, "authorization_endpoint") }),
			`names no authorization_endpoint, which auth_uri needs`, nil},
		{"wrong issuer", docHandler(func(d map[string]any) { d["issuer"] = d["issuer"].(string) + "/" }),
			`names issuer`, engine.ErrBadResponse},
		{"answers 500", func(*string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }
		}, "HTTP 500", nil},
		{"not JSON", func(*string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>maintenance</html>")) }
		}, "not a JSON object", engine.ErrBadResponse},
		{"hangs", func(*string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
		}, "deadline exceeded", engine.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var base string
			srv := httptest.NewServer(tt.handler(&base))
			base = srv.URL
			t.Cleanup(srv.Close)
			start := time.Now()
			_, err := newOIDCEngine(t, discoveredFile(srv.URL, `, "client_secret": "${env.DEX_SECRET}"`), 200*time.Millisecond)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("engine.New took %s", took)
			}
			if err == nil {
				t.Fatal("engine.New succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, srv.URL+"/.well-known/openid-configuration") || !strings.Contains(msg, tt.want) || !strings.Contains(msg, `strategy "dex"`) {
				t.Errorf("err = %v\nwant the strategy, the URL and %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}

// docHandler serves fullDocument for the server's own URL, changed by mod.
func docHandler(mod func(map[string]any)) func(op *string) http.HandlerFunc {
	return func(op *string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			d := fullDocument(*op)
			mod(d)
			json.NewEncoder(w).Encode(d)
		}
	}
}

// TestOIDCValidateDoesNotFetch: loading and checking a file with an issuer
// makes no request; only engine.New does.
func TestOIDCValidateDoesNotFetch(t *testing.T) {
	t.Parallel()
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	if ps := strategies.Check("oidc.json", []byte(discoveredFile(srv.URL, ""))); ps.HasErrors() {
		t.Fatal(ps)
	}
	if hits != 0 {
		t.Errorf("%d requests", hits)
	}
}

// TestOIDCNewContextDeadline: NewContext's context bounds the discovery
// request, below Options.StepTimeout.
func TestOIDCNewContextDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	plan, err := strategies.Parse("oidc.json", []byte(discoveredFile(srv.URL, "")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	e, err := engine.NewContext(ctx, plan, engine.Options{StepTimeout: 5 * time.Second})
	if e != nil {
		e.Close()
	}
	if err == nil || !errors.Is(err, engine.ErrUnreachable) {
		t.Fatalf("NewContext with a hanging issuer: %v; want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("NewContext took %v: the context's 200ms deadline was not applied", d)
	}
}
