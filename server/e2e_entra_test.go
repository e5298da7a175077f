package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/golang-jwt/jwt/v5"
)

// entraAPI answers, in the place of login.microsoftonline.com, the token
// and keys requests of the built-in microsoft-common: the ID token it
// returns names the tenant tid, carries the claims extra, and is signed
// with its own P-256 key, published at /common/discovery/v2.0/keys.
type entraAPI struct {
	t     *testing.T
	key   *ecdsa.PrivateKey
	tid   string
	extra map[string]any
	nonce string
}

func (e *entraAPI) answer(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "login.microsoftonline.com" {
		return nil, nil
	}
	reply := func(v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(string(b))), Request: req}, nil
	}
	switch req.URL.Path {
	case "/common/discovery/v2.0/keys":
		pub, _ := e.key.PublicKey.ECDH()
		b := pub.Bytes()
		enc := base64.RawURLEncoding.EncodeToString
		return reply(map[string]any{"keys": []any{map[string]any{"kty": "EC", "crv": "P-256", "kid": "entra1", "use": "sig",
			"x": enc(b[1:33]), "y": enc(b[33:])}}})
	case "/common/oauth2/v2.0/token":
		now := time.Now()
		claims := jwt.MapClaims{"iss": "https://login.microsoftonline.com/" + e.tid + "/v2.0", "tid": e.tid, "aud": "entra-app",
			"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"nonce": e.nonce, "name": "Ada", "email": "ada@corp.test"}
		for k, v := range e.extra {
			claims[k] = v
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		tok.Header["kid"] = "entra1"
		id, err := tok.SignedString(e.key)
		if err != nil {
			e.t.Fatal(err)
		}
		return reply(map[string]any{"access_token": "entra-access-token-1", "token_type": "Bearer", "expires_in": 3600, "id_token": id})
	}
	return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody, Request: req}, nil
}

// TestE2EEntraEmailVerification signs in with the built-in
// microsoft-common through the server and asks /auth/verify for an email
// or domain allow-list: Entra sends no email_verified, so without the
// optional claim xms_edov true the email, though it matches, is refused;
// with it, allowed. A tenant allowed_tenants does not list cannot sign in.
func TestE2EEntraEmailVerification(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const tenant, other = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490", "0d1e5a2b-6c3f-4e8a-9b7d-c1f2e3a4b5c6"
	tests := []struct {
		name     string
		tid      string
		extra    map[string]any
		callback int // the callback's status
		verify   int // /auth/verify with the allow-lists
	}{
		{"no xms_edov", tenant, nil, http.StatusFound, http.StatusForbidden},
		{"xms_edov false", tenant, map[string]any{"xms_edov": false}, http.StatusFound, http.StatusForbidden},
		{"xms_edov true", tenant, map[string]any{"xms_edov": true}, http.StatusFound, http.StatusOK},
		{"an unlisted tenant", other, map[string]any{"xms_edov": true}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &entraAPI{t: t, key: key, tid: tt.tid, extra: tt.extra}
			b := authtest.New(t, authtest.Options{
				Strategies: `{"strategies": {"microsoft-common": {"client_id": "entra-app", "client_secret": "${env.POST_SECRET}",
				  "allowed_tenants": "` + tenant + `"}}}`,
				Intercept: api.answer,
			})
			br := b.NewBrowser()
			p := br.Get("/auth/microsoft-common/login")
			loc, err := url.Parse(p.Location)
			if p.Status != http.StatusFound || err != nil || loc.Host != "login.microsoftonline.com" {
				t.Fatalf("login: %d to %q", p.Status, p.Location)
			}
			api.nonce = loc.Query().Get("nonce")
			cb := br.Get("/auth/microsoft-common/callback?code=c&state=" + url.QueryEscape(loc.Query().Get("state")))
			if tt.callback == 0 {
				if cb.Status == http.StatusFound {
					t.Fatalf("a token from an unlisted tenant signed in: %d to %s", cb.Status, cb.Location)
				}
				if st, _ := br.Session(); st == http.StatusOK {
					t.Fatal("a session exists")
				}
				return
			}
			if cb.Status != tt.callback {
				t.Fatalf("callback: %d %s", cb.Status, cb.Body)
			}
			for _, q := range []string{"allowed_domains=corp.test", "allowed_emails=ada@corp.test"} {
				v := br.Get("/auth/verify?" + q)
				if v.Status != tt.verify {
					t.Errorf("/auth/verify?%s: %d, want %d", q, v.Status, tt.verify)
				}
			}
			if v := br.Verify(); v.Status != http.StatusOK {
				t.Errorf("/auth/verify without allow-lists: %d (the user is signed in)", v.Status)
			}
		})
	}
}
