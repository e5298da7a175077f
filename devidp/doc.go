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
//	/oauth/token                       token endpoint: authorization_code, refresh_token
//	/userinfo                          UserInfo endpoint
//	/revoke                            token revocation (RFC 7009)
//	/oauth/introspect                  token introspection (RFC 7662; client_secret_basic only)
//	/end_session                       RP-initiated logout
//	/keys                              the JSON Web Key Set
//	/logged-out                        where end_session lands without a post_logout_redirect_uri
//
// What it implements: the authorization code flow with PKCE (S256 only;
// required for public clients), nonce, the scopes openid, profile, email,
// groups and offline_access, refresh tokens with rotation, revocation,
// RP-initiated logout, and ID tokens signed with RS256 or ES256 carrying the
// profile and email claims (and groups) the scopes ask for. Access and
// refresh tokens are opaque. Every authorization request shows the login
// page: there is no single sign-on session, so prompt=none is answered with
// login_required.
package devidp
