package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/demo"
	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// TestNginxUpstreamJWT puts authflow with upstream_jwt enabled (the demo's
// IdP and strategies, on a server of the test's own) and a service behind
// nginx, configured as docs/api-tokens.md says. The service trusts nothing
// but X-Auth-Token, which it verifies against jwks.json fetched through
// nginx, as a Go service would (golang-jwt, with the JWK Set read by the
// test kit).
//
// Not parallel, as no e2e test is.
func TestNginxUpstreamJWT(t *testing.T) {
	bin := nginx.need(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	base := "http://" + listen

	// The demo's IdP and strategies, as demo.New makes them, with a
	// server whose Config turns upstream_jwt on.
	const secret = "nginx-jwt-secret"
	idp, err := devidp.New(devidp.Options{Issuer: base + "/idp", AllowInsecureHTTP: true, Users: demo.Users,
		Clients: []devidp.Client{{ID: "authflow-demo", Secret: secret, RedirectURIs: []string{base + "/auth/demo/callback"},
			AccessTokenJWT: true}}})
	if err != nil {
		t.Fatal(err)
	}
	// The demo strategy also takes API clients' JWT access tokens.
	file := strings.Replace(demo.StrategiesJSON, `"backchannel_logout": true,`, `"backchannel_logout": true, "bearer": true,`, 1)
	set, err := strategies.Parse("demo/strategies.json", []byte(strings.ReplaceAll(file, "{{ISSUER}}", base+"/idp")))
	if err != nil {
		t.Fatal(err)
	}
	tokens := &authtest.TokenRecorder{} // keeps the OP's answers: the access token an API client would hold
	eng, err := engine.New(set, engine.Options{BaseURI: base, HTTPClient: &http.Client{Transport: tokens},
		LookupEnv: func(string) (string, bool) { return secret, true }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	srv, err := server.New(eng, server.Config{BaseURI: base, InsecureCookies: true, SigninSuccess: "/app/",
		Logger: (&authtest.LogBuffer{}).Logger(), UpstreamJWT: server.UpstreamJWT{Enabled: true, TTL: 5 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	mux.Handle("/idp/", idp)
	mux.Handle("/", srv)
	authSrv := httptest.NewServer(mux)
	t.Cleanup(authSrv.Close)

	// The service: its keys are fetched (through nginx) at its first request.
	var (
		mu   sync.Mutex
		jwks *authtest.KeySet
	)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if jwks == nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			k, err := authtest.FetchKeySet(ctx, nil, base+"/.well-known/jwks.json")
			if err != nil {
				http.Error(w, "jwks: "+err.Error(), http.StatusBadGateway)
				return
			}
			jwks = k
		}
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.Header.Get("X-Auth-Token"), claims, jwks.Keyfunc,
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(base), jwt.WithAudience(base),
			jwt.WithExpirationRequired())
		if err != nil {
			http.Error(w, "token refused: "+err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(claims)
	}))
	t.Cleanup(app.Close)
	startNginx(t, bin, listen, authSrv.Listener.Addr().String(), app.Listener.Addr().String())

	// The keys through nginx, cacheable.
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "max-age=300" {
		t.Fatalf("jwks.json through nginx: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	br := authtest.NewBrowser(t, base, authtest.BrowserOptions{IdP: idp, Home: "/app/"})
	br.MustLogin("demo", demo.Users[0])
	forged := http.Header{"X-Auth-Token": {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."}}
	for _, h := range []http.Header{nil, forged} {
		p := br.GetWith("/app/x", h)
		var claims map[string]any
		if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &claims) != nil {
			t.Fatalf("the service (headers %v): %d %s", h, p.Status, p.Body)
		}
		groups := fmt.Sprint(claims["groups"])
		if claims["sub"] != demo.Users[0].ID || claims["email"] != demo.Users[0].Email || claims["strategy"] != "demo" ||
			groups != fmt.Sprint(demo.Users[0].Groups) || claims["sid"] == nil {
			t.Errorf("the service verified %v", claims)
		}
	}

	// An API client with a JWT access token of the OP, no cookie: nginx's
	// auth_request passes Authorization to /auth/verify, and the service
	// gets an X-Auth-Token it verifies, without a sid (no session).
	at := gjson.GetBytes(tokens.Last("/idp/oauth/token"), "access_token").String()
	if strings.Count(at, ".") != 2 {
		t.Fatalf("the OP's access token is not a JWT: %.20q", at)
	}
	api := authtest.NewBrowser(t, base, authtest.BrowserOptions{})
	p := api.Do(http.MethodGet, "/app/api", nil, http.Header{"Authorization": {"Bearer " + at}})
	var claims map[string]any
	if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &claims) != nil {
		t.Fatalf("the service, for a bearer request: %d %s", p.Status, p.Body)
	}
	if claims["sub"] != demo.Users[0].ID || claims["email"] != demo.Users[0].Email || claims["strategy"] != "demo" || claims["sid"] != nil {
		t.Errorf("the service verified %v for a bearer request: want the token's user, no sid", claims)
	}
	if p := api.Do(http.MethodGet, "/app/api", nil, http.Header{"Authorization": {"Bearer " + at[:len(at)-4] + "AAAA"}}); p.Status == http.StatusOK {
		t.Errorf("a forged bearer token through nginx: %d %s", p.Status, p.Body)
	}

	// Signed out: nginx sends the browser to the login; a forged token
	// never reaches the service.
	if p := br.Post("/auth/signout"); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	if p := br.GetWith("/app/x", forged); p.Status != http.StatusFound {
		t.Errorf("after sign-out with a forged token: %d %s, want 302 to the login", p.Status, p.Body)
	}
}
