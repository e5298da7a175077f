package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/jwk"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// benchBearer returns a Server whose strategy takes bearer tokens of an
// httptest IdP, and a JWT access token of that IdP; upstream turns the
// upstream JWT on.
func benchBearer(b *testing.B, upstream bool) (*Server, string) {
	b.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pub, _ := jwk.Marshal(&key.PublicKey, "k1", "ES256")
		fmt.Fprintf(w, `{"keys":[%s]}`, pub)
	}))
	b.Cleanup(idp.Close)
	set, err := strategies.Parse("bench.json", []byte(`{"base_uri": "https://app.example.com", "strategies": {"acme": {
	  "idp": "`+idp.URL+`", "client_id": "api", "scope": "openid", "bearer": true,
	  "auth_uri": "${idp}/authorize?client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
	  "steps": [{"name": "token", "uri": "${idp}/token", "method": "POST", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}},
	            {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${idp}/keys", "issuer": "${idp}", "algorithms": ["ES256"]}]}}}`))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(set, engine.Options{HTTPClient: idp.Client()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Close)
	cfg := Config{BaseURI: "https://app.example.com", Logger: slog.New(slog.DiscardHandler)}
	cfg.UpstreamJWT.Enabled = upstream
	s, err := New(eng, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": idp.URL, "aud": "api", "sub": "user-1",
		"email": "user@example.com", "groups": []string{"admins", "devs"}, "scope": "openid orders:read",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	tok.Header["kid"], tok.Header["typ"] = "k1", "at+jwt"
	raw, err := tok.SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	return s, raw
}

// benchVerifyBearer measures /auth/verify with a JWT access token, its
// verification cached (warm): the per-request cost of an API client.
func benchVerifyBearer(b *testing.B) {
	for _, upstream := range []bool{false, true} {
		name := "plain"
		if upstream {
			name = "upstream_jwt"
		}
		b.Run(name, func(b *testing.B) {
			s, tok := benchBearer(b, upstream)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest(http.MethodGet, "/auth/verify", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := &benchWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					w.status = http.StatusOK
					s.ServeHTTP(w, req)
					if w.status != http.StatusOK {
						b.Errorf("verify: %d", w.status)
						return
					}
				}
			})
		})
	}
}
