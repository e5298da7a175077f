package devidp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authflow/authflow/devidp"
)

// TestJWTAccessToken: a client with AccessTokenJWT gets an access token
// that verifies with the Provider's keys (iss, aud = the client, exp,
// scope, email, groups), that UserInfo accepts, and that introspection
// reports active — until it is revoked; an opaque one introspects too.
func TestJWTAccessToken(t *testing.T) {
	t.Parallel()
	p := start(t, func(o *devidp.Options) { o.Clients[0].AccessTokenJWT = true })
	f := newFlow()
	tok := p.mustExchange(p.login(webClient, callback, fullScope, f, ada), f.verifier, callback, webAuth)
	at := str(tok, "access_token")
	claims, header := p.verifyIDToken(at, "RS256", webClient)
	if header["typ"] != "JWT" {
		t.Errorf("header typ %v", header["typ"])
	}
	if claims["sub"] != ada.ID || claims["email"] != ada.Email || claims["client_id"] != webClient ||
		!strings.Contains(str(claims, "scope"), "openid") || claims["jti"] == nil {
		t.Errorf("claims %v", claims)
	}
	if gs, _ := claims["groups"].([]any); len(gs) != 2 {
		t.Errorf("groups %v", claims["groups"])
	}
	if status, _ := p.userinfo(at); status != http.StatusOK {
		t.Errorf("userinfo with the JWT access token: %d", status)
	}
	introspect := func(token string) map[string]any {
		t.Helper()
		status, answer := p.postForm("/oauth/introspect", url.Values{"token": {token}}, webAuth)
		if status != http.StatusOK {
			t.Fatalf("introspect: %d %v", status, answer)
		}
		return answer
	}
	if a := introspect(at); a["active"] != true || a["sub"] != ada.ID || !strings.Contains(str(a, "scope"), "email") {
		t.Errorf("introspection of the JWT access token: %v", a)
	}
	if status, _ := p.revoke(at, "access_token", webAuth); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if a := introspect(at); a["active"] == true {
		t.Errorf("introspection after revocation: %v, want inactive", a)
	}

	// The opaque kind, for the other client, introspects as well.
	f = newFlow()
	tok = p.mustExchange(p.login(postClient, callback, fullScope, f, ada), f.verifier, callback, postAuth)
	if strings.Count(str(tok, "access_token"), ".") == 2 {
		t.Errorf("the post client got a JWT access token: %s", str(tok, "access_token"))
	}
	status, a := p.postForm("/oauth/introspect", url.Values{"token": {str(tok, "access_token")}}, clientAuth{id: postClient, secret: postSecret, method: "basic"})
	if status != http.StatusOK || a["active"] != true {
		t.Errorf("introspection of the opaque token: %d %v", status, a)
	}
}
