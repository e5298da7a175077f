package server_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
)

// Protect an application's handler: compile a strategy file (here the
// built-in github, which needs only the client's id and secret), bind it
// in an engine, and mount the Server's routes beside the handler that
// Require guards. Inside, UserFrom gives the signed-in user.
func ExampleServer_Require() {
	plan, err := strategies.Parse("strategies.json", []byte(`{"base_uri": "https://app.example.com",
	  "strategies": {"github": {"client_id": "Iv1.0123456789abcdef", "client_secret": "${env.GITHUB_SECRET}"}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, err := engine.New(plan, engine.Options{
		// Default: the process's environment (os.LookupEnv).
		LookupEnv: func(name string) (string, bool) { return "s3cret", name == "GITHUB_SECRET" },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()
	srv, err := server.New(eng, server.Config{BaseURI: "https://app.example.com", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("/auth/", srv) // the login, callback, session and sign-out routes
	mux.Handle("/reports/", srv.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := server.UserFrom(r.Context())
		fmt.Fprintf(w, "reports for %s\n", u.Email())
	})))

	// Without a session, a browser is sent to the login and comes back
	// afterwards; an API client gets 401.
	for _, accept := range []string{"text/html", "application/json"} {
		req := httptest.NewRequest(http.MethodGet, "https://app.example.com/reports/2031", nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if loc := rec.Header().Get("Location"); loc != "" {
			fmt.Println(accept+":", rec.Code, "to", loc)
		} else {
			fmt.Println(accept+":", rec.Code, strings.TrimSpace(rec.Body.String()))
		}
	}
	// Output:
	// text/html: 302 to /auth/login?return_to=%2Freports%2F2031
	// application/json: 401 {"error":"sign-in required"}
}
