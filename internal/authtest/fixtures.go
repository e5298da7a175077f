package authtest

import "github.com/authflow/authflow/devidp"

// The clients a Bench's IdP registers, one per strategy of
// DefaultStrategies. The Basic client's secret holds characters that
// client_secret_basic must form-encode (RFC 6749 §2.3.1).
const (
	BasicClient  = "basic-app"       // strategy dev: client_secret_basic
	BasicSecret  = "basic:s3cr3t/+@" // BasicClient's secret
	PostClient   = "post-app"        // strategy devpost: client_secret_post
	PostSecret   = "post-s3cr3t"     // PostClient's secret
	PublicClient = "public-app"      // strategy devpublic: no secret, PKCE
)

// The users of a Bench IdP's login form. Each call returns a new copy, so
// a test may change what it got.

// Ada is in the groups admins and devs, with a verified email.
func Ada() devidp.User {
	return devidp.User{ID: "user-ada", Username: "ada", Password: "ada-password",
		Email: "ada@example.test", EmailVerified: true, Name: "Ada Lovelace", Groups: []string{"admins", "devs"}}
}

// Bob is in no group, with a verified email.
func Bob() devidp.User {
	return devidp.User{ID: "user-bob", Username: "bob", Password: "bob-password",
		Email: "bob@example.test", EmailVerified: true, Name: "Bob"}
}

// Eve is in admins, but her email is not verified: allow-lists on emails
// and domains must not trust it.
func Eve() devidp.User {
	return devidp.User{ID: "user-eve", Username: "eve", Password: "eve-password",
		Email: "eve@example.test", EmailVerified: false, Name: "Eve", Groups: []string{"admins"}}
}

// DefaultStrategies is a Bench's strategy file, {{IDP}} standing for the
// IdP's URL. Three strategies, one per client:
//
//   - dev: client_secret_basic, keys from jwks_uri, userinfo merged,
//     refresh and revoke steps, back-channel logout;
//   - devpost: client_secret_post, keys through the issuer's discovery
//     document, refresh step;
//   - devpublic: a public client (PKCE, no secret).
//
// Secrets come from the environment (${env.BASIC_SECRET},
// ${env.POST_SECRET}), which a Bench's engines read from the kit, not from
// the process.
const DefaultStrategies = `{
  "strategies": {
    "dev": {
      "label": "Dev (Basic)",
      "idp": "{{IDP}}",
      "backchannel_logout": true,
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "basic-app",
      "client_secret": "${env.BASIC_SECRET}",
      "scope": "openid email profile groups offline_access",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}" } },
        { "name": "jwt", "decode": "${token.id_token}", "jwks_uri": "${idp}/keys", "issuer": "${idp}" },
        { "name": "userinfo", "uri": "${idp}/userinfo",
          "config": { "headers": { "Authorization": "Bearer ${token.access_token}" } } },
        { "name": "refresh", "uri": "${idp}/oauth/token", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "grant_type": "refresh_token", "refresh_token": "${refresh_token}" } },
        { "name": "revoke", "uri": "${idp}/revoke", "method": "POST",
          "config": { "auth": { "username": "${client_id}", "password": "${client_secret}" } },
          "form": { "token": "${refresh_token}", "token_type_hint": "refresh_token" } }
      ]
    },
    "devpost": {
      "label": "Dev (POST)",
      "idp": "{{IDP}}",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "post-app",
      "client_secret": "${env.POST_SECRET}",
      "scope": "openid email profile offline_access",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}", "client_id": "${client_id}", "client_secret": "${client_secret}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" },
        { "name": "refresh", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "refresh_token", "refresh_token": "${refresh_token}",
                    "client_id": "${client_id}", "client_secret": "${client_secret}" } }
      ]
    },
    "devpublic": {
      "label": "Dev (public client)",
      "idp": "{{IDP}}",
      "auth_uri": "${idp}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
      "client_id": "public-app",
      "scope": "openid email profile",
      "steps": [
        { "name": "token", "uri": "${idp}/oauth/token", "method": "POST",
          "form": { "grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}",
                    "code_verifier": "${code_verifier}", "client_id": "${client_id}" } },
        { "name": "jwt", "decode": "${token.id_token}", "issuer": "${idp}" }
      ]
    }
  }
}`

// lookupEnv is what the strategies read from ${env.*}.
func lookupEnv(name string) (string, bool) {
	switch name {
	case "BASIC_SECRET":
		return BasicSecret, true
	case "POST_SECRET":
		return PostSecret, true
	}
	return "", false
}
