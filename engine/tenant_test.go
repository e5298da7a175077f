package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// Tenants of the multi-tenant tests: two customers and a stranger.
const (
	tenantA = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	tenantB = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantX = "0d1e5a2b-6c3f-4e8a-9b7d-c1f2e3a4b5c6"
)

// fakeEntra answers like login.microsoftonline.com's multi-tenant
// endpoints (common, organizations) for the parts the built-ins use: the
// token endpoint answers with the ID token the test sets (claims merged
// over a valid token's), the keys endpoint with the JWKS.
type fakeEntra struct {
	t     *testing.T
	now   func() time.Time
	nonce func() string

	mu     sync.Mutex
	claims jwt.MapClaims
}

func (f *fakeEntra) handler(endpoint string) http.Handler {
	idp := rsaSigner()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /"+endpoint+"/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("client_secret") != "entra-secret" || r.PostForm.Get("code") != "entra-code" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70008")
			return
		}
		now := f.now()
		claims := jwt.MapClaims{"aud": "entra-app", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": f.nonce(), "ver": "2.0",
			"name": "Ada", "email": "ada@corp.test", "preferred_username": "ada@corp.test"}
		f.mu.Lock()
		for k, v := range f.claims {
			if v == nil {
				delete(claims, k)
			} else {
				claims[k] = v
			}
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "entra-at-123456", "token_type": "Bearer", "expires_in": 3600,
			"id_token": idp.sign(f.t, claims, nil)})
	})
	mux.HandleFunc("GET /"+endpoint+"/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{idp.jwk()}})
	})
	return mux
}

// issuerOf is Entra's v2.0 issuer of a tenant.
func issuerOf(tid string) string { return "https://login.microsoftonline.com/" + tid + "/v2.0" }

// TestMultiTenantIssuer runs the built-ins microsoft-common and
// microsoft-organizations (allowed_tenants set) against a stand-in for
// Entra ID: a token's iss must be the issuer template with its own tid,
// exactly; a tenant allowed_tenants does not list is refused; and the
// email counts as verified only with xms_edov true.
func TestMultiTenantIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		tenants  string // allowed_tenants; "" for none
		claims   jwt.MapClaims
		wantErr  error
		verified any // the mapped email_verified
	}{
		{"common: any tenant", "common", "", jwt.MapClaims{"tid": tenantX, "iss": issuerOf(tenantX)}, nil, false},
		{"common: xms_edov true", "common", "", jwt.MapClaims{"tid": tenantA, "iss": issuerOf(tenantA), "xms_edov": true}, nil, true},
		{"common: xms_edov false", "common", "", jwt.MapClaims{"tid": tenantA, "iss": issuerOf(tenantA), "xms_edov": false}, nil, false},
		{"common: xms_edov as a string", "common", "", jwt.MapClaims{"tid": tenantA, "iss": issuerOf(tenantA), "xms_edov": "1"}, nil, "1"},
		{"common: a personal account", "common", "", jwt.MapClaims{"tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "iss": issuerOf("9188040d-6c67-4c5b-b112-36a304b66dad")}, nil, false},
		{"iss of another tenant", "common", "", jwt.MapClaims{"tid": tenantX, "iss": issuerOf(tenantA)}, jwt.ErrTokenInvalidIssuer, nil},
		{"iss of another tenant, tid allowed", "organizations", tenantA, jwt.MapClaims{"tid": tenantA, "iss": issuerOf(tenantX)}, jwt.ErrTokenInvalidIssuer, nil},
		{"iss the template itself", "common", "", jwt.MapClaims{"tid": tenantA, "iss": "https://login.microsoftonline.com/{tenantid}/v2.0"}, jwt.ErrTokenInvalidIssuer, nil},
		{"iss with a trailing slash", "common", "", jwt.MapClaims{"tid": tenantA, "iss": issuerOf(tenantA) + "/"}, jwt.ErrTokenInvalidIssuer, nil},
		{"iss in another case", "common", "", jwt.MapClaims{"tid": tenantA, "iss": "https://login.microsoftonline.com/8EAEF023-2B34-4DA1-9BAA-8BC8C9D6A490/v2.0"}, jwt.ErrTokenInvalidIssuer, nil},
		{"no tid", "common", "", jwt.MapClaims{"tid": nil, "iss": issuerOf(tenantA)}, jwt.ErrTokenRequiredClaimMissing, nil},
		{"tid not a string", "common", "", jwt.MapClaims{"tid": 42, "iss": issuerOf("42")}, jwt.ErrTokenRequiredClaimMissing, nil},
		{"tid that reshapes the issuer", "common", "", jwt.MapClaims{"tid": "x/v2.0/..", "iss": issuerOf("x/v2.0/..")}, jwt.ErrTokenRequiredClaimMissing, nil},
		{"organizations: listed tenant", "organizations", tenantA + ", " + tenantB, jwt.MapClaims{"tid": tenantB, "iss": issuerOf(tenantB)}, nil, false},
		{"organizations: unlisted tenant", "organizations", tenantA + ", " + tenantB, jwt.MapClaims{"tid": tenantX, "iss": issuerOf(tenantX)}, engine.ErrTenantNotAllowed, nil},
		{"unlisted tenant, its issuer", "common", tenantA, jwt.MapClaims{"tid": tenantX, "iss": issuerOf(tenantX), "xms_edov": true}, engine.ErrTenantNotAllowed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			var l *engine.Login
			fe := &fakeEntra{t: t, now: clk.Now, nonce: func() string { return l.Nonce }, claims: tt.claims}
			srv := httptest.NewServer(fe.handler(tt.endpoint))
			defer srv.Close()
			target, _ := url.Parse(srv.URL)
			name := "microsoft-" + tt.endpoint
			extra := ""
			if tt.tenants != "" {
				extra = `, "allowed_tenants": "` + tt.tenants + `"`
			}
			file := `{"base_uri": "https://app.example.com", "strategies": {"` + name + `": {"client_id": "entra-app", "client_secret": "${env.S}"` + extra + `}}}`
			set, err := strategies.Parse("entra.json", []byte(file))
			if err != nil {
				t.Fatal(err)
			}
			s := newEngine(t, set, engine.Options{HTTPClient: &http.Client{Transport: &rewriteTransport{target: target}},
				LookupEnv: func(string) (string, bool) { return "entra-secret", true }, Now: clk.Now}).Strategy(name)
			l = s.NewLogin()
			res, err := s.Exchange(context.Background(), l, url.Values{"code": {"entra-code"}, "state": {l.State}})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, engine.ErrInvalidToken) {
					t.Fatalf("err = %v, want %v (an invalid token)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Claims["email"] != "ada@corp.test" || res.Claims["email_verified"] != tt.verified || res.Claims["tid"] != tt.claims["tid"] {
				t.Fatalf("claims %v, want email_verified %v", res.Claims, tt.verified)
			}
			// Entra sends no email_verified: without xms_edov true the
			// email satisfies no allow-list, though the address matches.
			u := &server.User{Strategy: name, Subject: res.Subject(), Claims: res.Claims, Raw: res.User}
			for _, rules := range []server.Rules{{Emails: []string{"ada@corp.test"}}, {Domains: []string{"corp.test"}}} {
				if got := rules.Allows(u); got != (tt.verified == true) {
					t.Errorf("%+v allows the user: %v, want %v (xms_edov %v)", rules, got, tt.verified == true, tt.claims["xms_edov"])
				}
			}
		})
	}
}
