package strategies_test

import (
	"fmt"

	"github.com/authflow/authflow/strategies"
)

// Load a strategy file: the built-in okta merged with the file's values,
// and a strategy of the file's own. The plan is what `authflow serve` runs.
func ExampleLoad() {
	plan, err := strategies.Load("../testdata/spec_example.json")
	if err != nil {
		fmt.Println(err) // one line per problem
		return
	}
	for _, w := range plan.Warnings() {
		fmt.Println(w)
	}
	sp := plan.Strategy("acme")
	fmt.Println(sp.Name(), sp.RedirectPath(), sp.PKCE(), sp.SendsNonce())
	for _, st := range sp.LoginSteps() {
		fmt.Println("login step:", st.Name())
	}
	// Output:
	// acme /auth/acme/callback true true
	// login step: token
	// login step: jwt
}

// Check is what `authflow validate` prints: the same compile as Load,
// without the environment, returning every problem.
func ExampleCheck() {
	file := []byte(`{"base_uri": "https://app.example.com", "strategies": {
	  "one": {"client_id": "a", "client_secret": "${env.ONE_SECRET}", "auth_uri": "https://idp.test/authorize?x=${a}",
	          "a": "${b}", "b": "${a}",
	          "steps": [{"name": "jwt", "uri": "https://idp.test/me", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}]},
	  "two": {"client_id": "b", "auth_uri": "idp.test/authorize", "redirect_path": "/auth/login"}}}`)
	for _, p := range strategies.Check("strategies.json", file) {
		fmt.Println(p)
	}
	// Output:
	// strategies.json: strategy "one": a: variable cycle a → b → a: a variable may not read itself, through others or directly (line 3, column 12)
	// strategies.json: strategy "one": step "jwt": config.headers.Authorization: unknown variable ${token.access_token} (line 4, column 91)
	// strategies.json: strategy "two": redirect_path: "/auth/login" is authflow's own route (/auth/login): choose another path, such as the default /auth/two/callback (line 5, column 64)
	// strategies.json: strategy "two": steps: missing: after the callback a login runs its steps, and needs at least the user step "jwt", whose result is the user object (usually after a "token" step that exchanges the code) (line 5, column 4)
	// strategies.json: strategy "two": auth_uri: must be an absolute http(s) URL, such as https://idp.example.com/authorize (line 5, column 30)
}
