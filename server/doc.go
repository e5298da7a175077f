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
//	GET  /auth/verify               forward-auth for nginx, Traefik and Caddy (a session, or Authorization: Bearer)
//	POST /auth/{strategy}/backchannel-logout  the IdP ends sessions (when enabled)
//	GET  /auth/token                the session's authflow-signed JWT (upstream_jwt)
//	GET  /.well-known/jwks.json     authflow's public signing keys (upstream_jwt)
//	GET  /healthz                   liveness
//	GET  /                          the account page (signed in as …, sign out; or a sign-in link)
//	any other address               a styled 404 page (405 for a known route's other methods)
//
// The pages are html/template files (templates/), which Config.TemplatesDir
// may replace file by file; Config.AppName and Config.LogoURL brand them.
// The account page only answers what reaches the Server: an application
// mounted beside it keeps its own "/" (see account.go).
//
// A pending login travels in an AES-GCM sealed cookie, spent once at the
// callback. A session is a record — user, claims and tokens — in the Store
// (an interface defined here: store.Memory by default, redisstore.Store to
// share between instances) under the SHA-256 of the session cookie's 32
// random bytes. A session is live while its record exists, so deleting the
// record ends it on every instance that shares the store, and every write
// is a compare-and-swap, so an in-flight request cannot bring it back.
package server
