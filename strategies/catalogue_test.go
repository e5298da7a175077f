package strategies

import (
	"slices"
	"strings"
	"testing"
)

// noCodeBinding names the built-ins whose provider documents no PKCE for a
// confidential web client and no OpenID nonce (so "pkce": false and the
// code-injection warning are the documented truth), with the page that says
// so; docs/providers.md explains each. twitch and slack send no PKCE either
// (Slack's PKCE setting turns the app into a public client), but their ID
// token's nonce binds the code. So does apple's: Sign in with Apple
// documents no code_challenge, and its ID token carries the nonce.
var noCodeBinding = map[string]string{
	"bitbucket": "https://developer.atlassian.com/cloud/bitbucket/oauth-2/ (authorization code grant: client_id, response_type, no PKCE)",
	"reddit":    "https://github.com/reddit-archive/reddit/wiki/OAuth2 (authorize parameters: no code_challenge)",
	"spotify":   "https://developer.spotify.com/documentation/web-api/tutorials/code-flow (PKCE only where the secret cannot be stored)",
	"dropbox":   "https://developers.dropbox.com/oauth-guide (PKCE for clients without a secret)",
	"atlassian": "https://developer.atlassian.com/cloud/oauth/getting-started/implementing-oauth-3lo (no code_challenge)",
	"notion":    "https://developers.notion.com/guides/get-started/authorization (no code_challenge)",
	"strava":    "https://developers.strava.com/docs/authentication (no code_challenge)",
	"box":       "https://developer.box.com/guides/authentication/oauth2/ (no code_challenge; not OpenID)",
	"patreon":   "https://docs.patreon.com/#oauth (authorize: response_type, client_id, redirect_uri, scope, state; no code_challenge; not OpenID)",
	"hubspot":   "https://developers.hubspot.com/docs/api-reference/auth-oauth-v1/guide (install URL: client_id, redirect_uri, scope, optional_scopes, state; no code_challenge)",
}

// nonceBinding names the built-ins whose provider documents no PKCE for a
// confidential web client but echoes the OpenID nonce in its ID token, which
// binds the code to the login instead (no code-injection warning).
var nonceBinding = map[string]string{
	"linkedin": "no nonce either: see noCodeBinding's note in TestCatalogueValidates",
	"slack":    "https://docs.slack.dev/authentication/using-pkce (PKCE makes the app a public client)",
	"twitch":   "https://dev.twitch.tv/docs/authentication/getting-tokens-oidc (no code_challenge)",
	"yahoo":    "https://developer.yahoo.com/oauth2/guide/openid_connect/ (nonce; no code_challenge documented)",
	"xero":     "https://developer.xero.com/documentation/guides/oauth2/auth-flow (web apps: no code_challenge; PKCE is the secretless grant type)",
	"apple":    "https://developer.apple.com/documentation/signinwithapplerestapi/request-an-authorization-to-the-sign-in-with-apple-server (nonce; no code_challenge documented)",
}

// TestCatalogueValidates fills each built-in strategy's required values and
// checks that it then validates with no error and no warning (but
// linkedin's documented code-injection warning): the catalogue itself must
// be a correct strategy file.
func TestCatalogueValidates(t *testing.T) {
	t.Parallel()
	builtins := Catalogue()
	if len(builtins) < 40 {
		t.Fatalf("catalogue has %d strategies, want at least 40", len(builtins))
	}
	for _, b := range builtins {
		t.Run(b.Name, func(t *testing.T) {
			var fields []string
			for _, k := range b.Required() {
				v := "value-" + k
				switch k {
				case "client_secret":
					v = "${env.SECRET}"
				case "okta_uri", "realm_uri", "casdoor_uri", "authelia_uri", "authentik_uri", "gitea_uri",
					"kanidm_uri", "logto_uri", "zitadel_uri", "fusionauth_uri", "ory_uri":
					v = "https://idp.example.com/" + k
				case "domain":
					v = "idp.example.com"
				}
				fields = append(fields, `"`+k+`": "`+v+`"`)
			}
			file := `{"base_uri": "https://app.example.com", "strategies": {"` + b.Name + `": {` + strings.Join(fields, ", ") + `}}}`
			var ps Problems
			for _, p := range Check("builtin.json", []byte(file)) {
				// LinkedIn supports neither PKCE (web apps) nor the nonce
				// (docs/providers.md): its code-injection warning is the
				// documented truth, not a catalogue mistake. So is that
				// of each provider in noCodeBinding.
				if !((b.Name == "linkedin" || noCodeBinding[b.Name] != "") && p.Field == "pkce" && strings.Contains(p.Message, "authorization code injection")) {
					ps = append(ps, p)
				}
			}
			if len(ps) != 0 {
				t.Fatalf("%s\nproblems:\n%v", file, ps)
			}
		})
	}
}

// TestCatalogueShape checks what every built-in strategy must offer: a
// token step, a user step, a refresh step, PKCE unless the IdP's docs say it
// breaks, and a verified ID token wherever the scope asks for one.
func TestCatalogueShape(t *testing.T) {
	t.Parallel()
	want := []string{"google", "okta", "microsoft", "github", "gitlab", "auth0", "keycloak", "cognito", "slack", "discord", "linkedin"}
	var got []string
	for _, b := range Catalogue() {
		got = append(got, b.Name)
		if b.Step(StepToken) == nil || b.Step(b.UserStep()) == nil || b.Step(StepRefresh) == nil {
			t.Errorf("%s: needs token, %s and refresh steps", b.Name, b.UserStep())
		}
		if b.ClientID != "" || b.ClientSecret != "" {
			t.Errorf("%s: the catalogue must leave client_id and client_secret to the user", b.Name)
		}
		if b.InsecureNoPKCE && nonceBinding[b.Name] == "" && noCodeBinding[b.Name] == "" {
			t.Errorf("%s: PKCE is off", b.Name)
		}
		user := b.Step(b.UserStep())
		if slices.Contains(strings.Fields(b.Scope), "openid") {
			if !user.IsDecode() || user.InsecureSkipVerify || user.Issuer == "" {
				t.Errorf("%s: an OpenID strategy must verify its ID token against an issuer", b.Name)
			}
		}
		for _, st := range b.Steps {
			for _, u := range []string{st.URI, st.JWKSURI, st.Issuer} {
				if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "${") {
					t.Errorf("%s: step %s: %q is not https", b.Name, st.Name, u)
				}
			}
		}
	}
	for _, n := range want {
		if !slices.Contains(got, n) {
			t.Errorf("catalogue lacks %q", n)
		}
	}
}
