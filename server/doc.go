// Package server is authflow's HTTP surface: the login routes, the
// server-side sessions, refresh, sign-out and the forward-auth endpoint, as
// one http.Handler that `authflow serve` runs and a Go application can
// mount, plus the Require middleware for the application's own routes.
//
//	GET  /auth/login                chooser page (redirects when there is one strategy)
//	GET  /auth/{strategy}/login     redirect to the IdP
//	GET  {redirect_path}            the callback: run the steps, start the session
//	GET  /auth/session              the session as JSON (401 without one)
//	POST /auth/refresh              force a refresh
//	POST /auth/signout              revoke, end the session, notify the webhook
//	GET  /auth/verify               forward-auth for nginx, Traefik and Caddy
//	GET  /healthz                   liveness
//
// State lives server-side, in a store.Store: each pending login under its
// state (ten minutes, taken once), and each session's record — user, claims
// and tokens — under a random session id. The browser holds only the scs
// session cookie, which maps to that id. A session is live while its record
// exists, so deleting the record ends it on every instance that shares the
// store.
package server
