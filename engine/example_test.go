package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// Run one login with the engine alone: compile a strategy file, bind it,
// send the browser to the authorize URL, and handle the callback. The
// identity provider here is a test server with a token endpoint and a user
// endpoint (a GitHub-like OAuth 2.0 provider).
func Example() {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/token":
			if _, secret, _ := r.BasicAuth(); r.FormValue("code") != "the-code" || r.FormValue("code_verifier") == "" || secret != "s3cret" {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error": "invalid_grant"}`)
				return
			}
			fmt.Fprint(w, `{"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}`)
		case "/user":
			if r.Header.Get("Authorization") != "Bearer at-1" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"sub": "42", "name": "Ada"}`)
		}
	}))
	defer idp.Close()

	file := strings.ReplaceAll(`{"base_uri": "https://app.example.com", "strategies": {"acme": {
	  "auth_uri": "IDP/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}",
	  "client_id": "web", "client_secret": "${env.ACME_SECRET}",
	  "steps": [
	    {"name": "token", "uri": "IDP/token", "method": "POST",
	     "config": {"auth": {"username": "${client_id}", "password": "${client_secret}"}},
	     "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}"}},
	    {"name": "jwt", "uri": "IDP/user", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]}}}`, "IDP", idp.URL)
	plan, err := strategies.Parse("strategies.json", []byte(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := engine.New(plan, engine.Options{
		HTTPClient: idp.Client(),
		LookupEnv:  func(name string) (string, bool) { return "s3cret", name == "ACME_SECRET" },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	s := e.Strategy("acme")

	login := s.NewLogin() // kept server-side until the callback
	authURL, err := s.AuthCodeURL(login)
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := url.Parse(authURL)
	var params []string
	for k := range u.Query() {
		params = append(params, k)
	}
	slices.Sort(params)
	fmt.Println("authorize:", strings.Join(params, " "))

	// The IdP sends the browser back with a code and the state.
	callback := url.Values{"code": {"the-code"}, "state": {u.Query().Get("state")}}
	res, err := s.Exchange(context.Background(), login, callback)
	if err != nil {
		fmt.Println(err)
		return
	}
	var user struct{ Name string }
	json.Unmarshal(res.User, &user)
	fmt.Println("subject:", res.Subject(), "name:", user.Name, "access token:", res.Tokens.AccessToken)
	// Output:
	// authorize: client_id code_challenge code_challenge_method redirect_uri response_type state
	// subject: 42 name: Ada access token: at-1
}
