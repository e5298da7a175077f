package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/internal/jwk"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
	"github.com/golang-jwt/jwt/v5"
)

// An API behind Require takes API clients' access tokens with one line in
// the strategy, "bearer": true: a request with Authorization: Bearer is
// judged by the token (verified with the jwt step's keys and issuer, aud
// holding the client_id), never redirected, and the handler finds the
// token's user with UserFrom. Here an httptest server plays the identity
// provider's JWKS endpoint.
func ExampleServer_Require_bearer() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pub, _ := jwk.Marshal(&key.PublicKey, "k1", "ES256")
		fmt.Fprintf(w, `{"keys":[%s]}`, pub)
	}))
	defer idp.Close()

	plan, err := strategies.Parse("strategies.json", []byte(`{"base_uri": "https://api.example.com", "strategies": {"corp": {
	  "idp": "`+idp.URL+`", "client_id": "orders-api", "scope": "openid",
	  "bearer": true,
	  "auth_uri": "${idp}/authorize?client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
	  "steps": [{"name": "token", "uri": "${idp}/token", "method": "POST", "form": {"code": "${auth.code}", "code_verifier": "${code_verifier}"}},
	            {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${idp}/keys", "issuer": "${idp}", "algorithms": ["ES256"]}]}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, err := engine.New(plan, engine.Options{HTTPClient: idp.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()
	srv, err := server.New(eng, server.Config{BaseURI: "https://api.example.com", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	api := srv.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := server.UserFrom(r.Context())
		fmt.Fprintf(w, "orders of %s (scopes %s)\n", u.Subject, strings.Join(u.Scopes, " "))
	}))

	// What the identity provider issues an API client.
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": idp.URL, "aud": "orders-api", "sub": "svc-billing",
		"scope": "orders:read", "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()})
	tok.Header["kid"], tok.Header["typ"] = "k1", "at+jwt"
	good, _ := tok.SignedString(key)
	for _, bearer := range []string{good, good[:len(good)-6] + "forged"} {
		req := httptest.NewRequest(http.MethodGet, "https://api.example.com/orders", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200  orders of svc-billing (scopes orders:read)
	// 401 Bearer error="invalid_token" {"error":"invalid_token"}
}
