// Package devidp is a development OpenID Connect provider: a real OP, built on
// the certified github.com/zitadel/oidc/v3 op package, that keeps its users,
// clients and tokens in memory and signs users in on its own small login page.
//
// authflow's end-to-end tests run it in-process behind httptest as the
// identity provider, and `authflow demo` embeds it so that a newcomer can log
// in with no external account. It is not for production: passwords are plain
// text, nothing survives a restart, and the login form's only CSRF defence is
// the unguessable auth request id it carries (see Provider.ServeHTTP).
//
//	srv := httptest.NewUnstartedServer(nil)
//	p, err := devidp.New(devidp.Options{
//		Issuer:  "http://" + srv.Listener.Addr().String(),
//		Clients: []devidp.Client{{ID: "app", Secret: "s3cret",
//			RedirectURIs: []string{"http://127.0.0.1:8080/auth/dev/callback"}}},
//		Users: []devidp.User{{Username: "ada", Password: "ada-password",
//			Email: "ada@example.test", EmailVerified: true, Name: "Ada Lovelace"}},
//	})
//	srv.Config.Handler = p
//	srv.Start()
//	defer srv.Close()
//	// authorizeURL: the client's authorization request (response_type=code,
//	// scope, state, nonce, code_challenge, ...) to srv.URL + "/authorize".
//	back, err := p.Login(ctx, httpClient, authorizeURL, "ada", "ada-password")
//	code := back.Query().Get("code") // back is on the client's redirect_uri
//
// Endpoints, relative to the issuer (the discovery document lists them):
//
//	/.well-known/openid-configuration  discovery
//	/authorize                         authorization endpoint (code flow only)
//	/login                             the login page the authorize endpoint redirects to
//	/oauth/token                       token endpoint: authorization_code, refresh_token,
//	                                   client_credentials, urn:ietf:params:oauth:grant-type:device_code
//	/device_authorization              device authorization endpoint (RFC 8628)
//	/device                            the verification page where a user approves a device code
//	/userinfo                          UserInfo endpoint
//	/revoke                            token revocation (RFC 7009)
//	/oauth/introspect                  token introspection (RFC 7662; client_secret_basic only)
//	/end_session                       RP-initiated logout (and back-channel logout of the session)
//	/keys                              the JSON Web Key Set
//	/logged-out                        where end_session lands without a post_logout_redirect_uri
//
// What it implements: the authorization code flow with PKCE (S256 only;
// required for public clients), nonce, the scopes openid, profile, email,
// groups and offline_access, refresh tokens with rotation, revocation,
// RP-initiated logout, back-channel logout, and ID tokens signed with RS256
// or ES256 carrying the profile and email claims (and groups) the scopes ask
// for. Access and refresh tokens are opaque. Every authorization request
// shows the login page: there is no single sign-on session, so prompt=none
// is answered with login_required.
//
// # Sessions and back-channel logout
//
// Each successful login on the login page starts an OP session with a
// random id. The ID token of that login, and those of its refreshes, carry
// it as the sid claim; the UserInfo endpoint does not. The Provider remembers
// each session's user and the clients that received tokens in it.
//
// It implements OpenID Connect Back-Channel Logout 1.0 as an OP: discovery
// advertises backchannel_logout_supported and
// backchannel_logout_session_supported, and a Client may register a
// BackchannelLogoutURI. A session ends
//
//   - at /end_session with an id_token_hint (RP-initiated logout): the
//     session the hint's sid names, or every session of the hint's user when
//     it has no sid; without a hint nothing ends;
//   - by Provider.EndSessions, for every session of a user, as an admin
//     console would.
//
// Ending a session revokes its access and refresh tokens, and refuses a
// code of it not yet exchanged. (The spec says refresh tokens issued with
// offline_access normally should not be revoked; devidp issues refresh
// tokens only for offline_access and revokes them anyway, so that a test
// sees the logout reach the token endpoint too.) Every client that received tokens in it and has a
// BackchannelLogoutURI then gets a POST of the form logout_token=<JWT>: a
// logout token signed like the ID tokens (kid, typ logout+jwt) with iss, aud
// (the client), iat, exp (two minutes later), a unique jti, sub, sid and the
// back-channel logout event, and no nonce. Deliveries are synchronous and
// concurrent, each with a 5s deadline, through Options.BackchannelClient;
// redirects are not followed. A delivery counts as done on a 2xx answer;
// failures are counted in Stats and never fail the logout. There are no
// retries.
//
// # Client credentials and device authorization
//
// A confidential client may use the client credentials grant (RFC 6749
// §4.4): the access token's subject is the client, there is no refresh or
// ID token, and introspection answers it active with sub and client_id the
// client. Every client may use the device authorization grant (RFC 8628):
// a device code lives 10 minutes (on Options.Now), the poll interval is 5s,
// and the user approves or denies it on /device with the user code and a
// username and password; Provider.ApproveDevice and DenyDevice do so over
// HTTP as a phone's browser would. An approved code is redeemed once; the
// login starts an OP session like the login page's. A Client with Native
// set is a public native application (RFC 8252) whose loopback redirect
// URIs match at any port (§7.3).
//
// Provider.SignJWT signs arbitrary claims with the same key, so that tests
// can build tokens that verify but break a rule, such as a logout token
// with a nonce.
package devidp
