package devidp_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/authflow/authflow/devidp"
)

const fullScope = "openid profile email groups offline_access"

func TestDiscovery(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			p := start(t, func(o *devidp.Options) { o.Algorithm = alg })
			d := p.getJSON("/.well-known/openid-configuration")
			iss := p.srv.URL
			if got := str(d, "issuer"); got != iss {
				t.Errorf("issuer = %q, want %q", got, iss)
			}
			for key, path := range map[string]string{
				"authorization_endpoint": "/authorize",
				"token_endpoint":         "/oauth/token",
				"userinfo_endpoint":      "/userinfo",
				"revocation_endpoint":    "/revoke",
				"end_session_endpoint":   "/end_session",
				"jwks_uri":               "/keys",
			} {
				if got := str(d, key); got != iss+path {
					t.Errorf("%s = %q, want %q", key, got, iss+path)
				}
			}
			for key, want := range map[string]string{
				"id_token_signing_alg_values_supported": alg,
				"code_challenge_methods_supported":      "S256",
				"scopes_supported":                      "offline_access",
				"claims_supported":                      "groups",
				"token_endpoint_auth_methods_supported": "client_secret_post",
			} {
				if !slices.Contains(strings.Fields(joined(d[key])), want) {
					t.Errorf("%s = %v, want it to hold %q", key, d[key], want)
				}
			}
			keys, _ := p.getJSON("/keys")["keys"].([]any)
			if len(keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(keys))
			}
			if k, _ := keys[0].(map[string]any); str(k, "alg") != alg || str(k, "use") != "sig" || str(k, "kid") == "" {
				t.Errorf("JWK = %v, want alg %s, use sig and a kid", k, alg)
			}
		})
	}
}

// joined turns a JSON array of strings into one space-separated string.
func joined(v any) string {
	list, _ := v.([]any)
	var parts []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func TestCodeFlow(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			p := start(t, func(o *devidp.Options) { o.Algorithm = alg })
			f := newFlow()
			code := p.login(webClient, callback, fullScope, f, ada)
			tok := p.mustExchange(code, f.verifier, callback, webAuth)

			if str(tok, "token_type") != "Bearer" || str(tok, "access_token") == "" || str(tok, "refresh_token") == "" {
				t.Fatalf("token response = %v, want Bearer access and refresh tokens", tok)
			}
			if exp, _ := tok["expires_in"].(float64); exp <= 0 || exp > 300 {
				t.Errorf("expires_in = %v, want (0, 300]", tok["expires_in"])
			}
			claims, header := p.verifyIDToken(str(tok, "id_token"), alg, webClient)
			if header["kid"] == nil {
				t.Error("ID token header has no kid")
			}
			for key, want := range map[string]any{
				"sub":                ada.ID,
				"nonce":              f.nonce,
				"email":              ada.Email,
				"email_verified":     true,
				"name":               ada.Name,
				"preferred_username": ada.Username,
				"groups":             "admins devs",
			} {
				got := claims[key]
				if key == "groups" {
					got = joined(got)
				}
				if got != want {
					t.Errorf("ID token %s = %v, want %v", key, claims[key], want)
				}
			}
			for _, key := range []string{"iat", "exp", "auth_time"} {
				if _, ok := claims[key].(float64); !ok {
					t.Errorf("ID token has no numeric %s: %v", key, claims)
				}
			}

			status, info := p.userinfo(str(tok, "access_token"))
			if status != http.StatusOK {
				t.Fatalf("userinfo: %d %v", status, info)
			}
			for key, want := range map[string]any{
				"sub":                ada.ID,
				"email":              ada.Email,
				"email_verified":     true,
				"name":               ada.Name,
				"preferred_username": ada.Username,
				"groups":             "admins devs",
			} {
				got := info[key]
				if key == "groups" {
					got = joined(got)
				}
				if got != want {
					t.Errorf("userinfo %s = %v, want %v", key, info[key], want)
				}
			}

			if s := p.Stats(); s.Logins != 1 || s.AuthorizationCodeGrants != 1 || s.UserinfoRequests != 1 {
				t.Errorf("Stats = %+v, want 1 login, 1 code grant, 1 userinfo request", s)
			}
		})
	}
}

func TestClaimsFollowScopes(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	tests := []struct {
		name, scope string
		user        devidp.User
		want        map[string]any // claims in the ID token and at userinfo
		absent      []string
	}{
		{
			name: "openid only", scope: "openid", user: ada,
			want:   map[string]any{"sub": ada.ID},
			absent: []string{"email", "name", "groups", "preferred_username"},
		},
		{
			name: "email", scope: "openid email", user: ada,
			want:   map[string]any{"email": ada.Email, "email_verified": true},
			absent: []string{"name", "groups"},
		},
		{
			name: "groups without profile", scope: "openid groups", user: ada,
			want:   map[string]any{"groups": "admins devs"},
			absent: []string{"name", "email"},
		},
		{
			name: "unverified email and username as sub", scope: "openid email profile", user: bob,
			want:   map[string]any{"sub": bob.Username, "email": bob.Email, "email_verified": false, "preferred_username": bob.Username},
			absent: []string{"groups"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow()
			tok := p.mustExchange(p.login(webClient, callback, tt.scope, f, tt.user), f.verifier, callback, webAuth)
			if str(tok, "refresh_token") != "" {
				t.Errorf("refresh token issued without offline_access")
			}
			idClaims, _ := p.verifyIDToken(str(tok, "id_token"), "RS256", webClient)
			_, info := p.userinfo(str(tok, "access_token"))
			for where, claims := range map[string]map[string]any{"ID token": idClaims, "userinfo": info} {
				for key, want := range tt.want {
					got := claims[key]
					if key == "groups" {
						got = joined(got)
					}
					if got != want {
						t.Errorf("%s %s = %v, want %v", where, key, claims[key], want)
					}
				}
				for _, key := range tt.absent {
					if v, ok := claims[key]; ok {
						t.Errorf("%s has %s = %v, want none for scope %q", where, key, v, tt.scope)
					}
				}
			}
		})
	}
}

func TestWrongPasswordIssuesNoCode(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	back, err := p.Login(context.Background(), p.client, p.authorizeURL(webClient, callback, "openid", f, nil), ada.Username, "not-the-password")
	if !errors.Is(err, devidp.ErrInvalidCredentials) {
		t.Fatalf("Login = %v, %v; want ErrInvalidCredentials", back, err)
	}
	_, err = p.Login(context.Background(), p.client, p.authorizeURL(webClient, callback, "openid", f, nil), "nobody", ada.Password)
	if !errors.Is(err, devidp.ErrInvalidCredentials) {
		t.Fatalf("Login as an unknown user = %v; want ErrInvalidCredentials", err)
	}
	if s := p.Stats(); s.Logins != 0 || s.FailedLogins != 2 {
		t.Errorf("Stats = %+v, want 0 logins and 2 failed", s)
	}
}

func TestPublicClient(t *testing.T) {
	t.Parallel()
	p := start(t, nil)

	t.Run("PKCE without secret", func(t *testing.T) {
		f := newFlow()
		code := p.login(spaClient, spaCallback, "openid email offline_access", f, ada)
		tok := p.mustExchange(code, f.verifier, spaCallback, spaAuth)
		p.verifyIDToken(str(tok, "id_token"), "RS256", spaClient)
		if status, next := p.refresh(str(tok, "refresh_token"), spaAuth); status != http.StatusOK {
			t.Errorf("refresh: %d %v", status, next)
		}
	})

	for _, tt := range []struct {
		name  string
		extra map[string]string
	}{
		{"no code_challenge", map[string]string{"code_challenge": "", "code_challenge_method": ""}},
		{"plain code_challenge_method", map[string]string{"code_challenge_method": "plain"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			back, err := p.Login(context.Background(), p.client, p.authorizeURL(spaClient, spaCallback, "openid", newFlow(), tt.extra), ada.Username, ada.Password)
			if err != nil {
				t.Fatal(err)
			}
			if back.Query().Get("error") != "invalid_request" || back.Query().Get("code") != "" {
				t.Errorf("redirect = %s, want error=invalid_request and no code", back)
			}
		})
	}
}

func TestPromptNoneIsLoginRequired(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	f := newFlow()
	back, err := p.Login(context.Background(), p.client, p.authorizeURL(webClient, callback, "openid", f, map[string]string{"prompt": "none"}), ada.Username, ada.Password)
	if err != nil {
		t.Fatal(err)
	}
	if q := back.Query(); q.Get("error") != "login_required" || q.Get("state") != f.state {
		t.Errorf("redirect = %s, want error=login_required with the state", back)
	}
}

func TestIssuerWithPath(t *testing.T) {
	t.Parallel()
	srv := newMountedServer(t, "/idp")
	p := srv.p
	f := newFlow()
	q := url.Values{
		"response_type": {"code"}, "client_id": {webClient}, "redirect_uri": {callback}, "scope": {"openid"},
		"state": {f.state}, "nonce": {f.nonce}, "code_challenge": {f.challenge()}, "code_challenge_method": {"S256"},
	}
	back, err := p.Login(context.Background(), browser(t), p.Issuer()+"/authorize?"+q.Encode(), ada.Username, ada.Password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), callback+"?") || back.Query().Get("code") == "" {
		t.Fatalf("Login ended at %s, want %s with a code", back, callback)
	}
	resp, err := http.Get(p.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery under the issuer path: %s", resp.Status)
	}
}
