package engine_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// This file builds strategy files and engines against the test IdP. A
// strategy file is written inline, with {{IDP}} standing for the IdP's URL,
// and loaded with strategies.Parse, so each test shows what it runs.

// testStrategy is the one strategy name the helpers use. It is not in the
// built-in catalogue, so nothing is merged in.
const testStrategy = "acme"

// The authorize URL and scope of the test strategies.
const (
	defaultAuthURI = "{{IDP}}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}"
	defaultScope   = "openid email profile offline_access"
)

// keysWith returns the strategy keys every test strategy has, with the
// given auth_uri and scope. The client secret comes from ${env.ACME_SECRET}
// (see testEnv).
func keysWith(authURI, scope string) string {
	return fmt.Sprintf(`"auth_uri": %q, "client_id": %q, "client_secret": "${env.ACME_SECRET}", "scope": %q`,
		authURI, testClientID, scope)
}

// Steps shared by many tests.
const (
	// jwtStepJWKS verifies the ID token with an explicit jwks_uri.
	jwtStepJWKS = `{"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "{{IDP}}/jwks", "issuer": "{{IDP}}"}`
	// jwtStepDiscovery verifies the ID token with keys found through the
	// issuer's discovery document.
	jwtStepDiscovery = `{"name": "jwt", "decode": "${token.id_token}", "issuer": "{{IDP}}"}`
	// userinfoStep reads the userinfo endpoint with the access token.
	userinfoStep = `{"name": "userinfo", "uri": "{{IDP}}/userinfo", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`
)

// postStep returns a POST step with a form body, authenticating the client
// the way a says: client_secret_post adds client_id and client_secret to the
// form, client_secret_basic uses config.auth. form holds JSON members.
func postStep(name, uri string, a clientAuth, form string) string {
	if a == authBasic {
		return fmt.Sprintf(`{"name": %q, "uri": %q, "method": "POST",
			"config": {"auth": {"username": "${client_id}", "password": "${client_secret}"}},
			"form": {%s}}`, name, uri, form)
	}
	return fmt.Sprintf(`{"name": %q, "uri": %q, "method": "POST",
		"form": {%s, "client_id": "${client_id}", "client_secret": "${client_secret}"}}`, name, uri, form)
}

// tokenStep is the authorization code exchange with PKCE.
func tokenStep(a clientAuth) string {
	return postStep("token", "{{IDP}}/token", a,
		`"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}"`)
}

// refreshStep is the refresh_token grant.
func refreshStep(a clientAuth) string {
	return postStep("refresh", "{{IDP}}/token", a, `"grant_type": "refresh_token", "refresh_token": "${refresh_token}"`)
}

// revokeStep revokes the token that tokenRef names (RFC 7009).
func revokeStep(a clientAuth, tokenRef, hint string) string {
	return postStep("revoke", "{{IDP}}/revoke", a, fmt.Sprintf(`"token": %q, "token_type_hint": %q`, tokenRef, hint))
}

// stratFile returns a strategy file with base_uri https://app.test and one
// strategy, "acme": the default keys (keysWith), then extra keys (JSON
// members, may be ""), then steps.
func stratFile(extra string, steps ...string) string {
	return fileWith(keysWith(defaultAuthURI, defaultScope), extra, steps...)
}

// fileWith is stratFile with the strategy's keys given in full.
func fileWith(keys, extra string, steps ...string) string {
	if extra != "" {
		keys += ",\n\t\t\t" + extra
	}
	return fmt.Sprintf(`{
	"base_uri": "https://app.test",
	"strategies": {
		%q: {
			%s,
			"steps": [
				%s
			]
		}
	}
}`, testStrategy, keys, strings.Join(steps, ",\n\t\t\t\t"))
}

// oidcFile is the usual OpenID Connect strategy: token exchange with a, ID
// token verified with jwks_uri, userinfo, refresh and revoke.
func oidcFile(a clientAuth) string {
	return stratFile("", tokenStep(a), jwtStepJWKS, userinfoStep, refreshStep(a),
		revokeStep(a, "${refresh_token}", "refresh_token"))
}

// parseFile loads a strategy file written for the IdP at base, failing the
// test on any error.
func parseFile(tb testing.TB, base, file string) *strategies.Plan {
	tb.Helper()
	set, err := strategies.Parse("test.json", []byte(strings.ReplaceAll(file, "{{IDP}}", base)))
	if err != nil {
		tb.Fatalf("strategies.Parse: %v\nfile:\n%s", err, file)
	}
	return set
}

// testEnv is the environment the test engines read: ACME_SECRET only.
func testEnv(name string) (string, bool) {
	if name == "ACME_SECRET" {
		return testClientSecret, true
	}
	return "", false
}

// options returns engine options wired to the IdP: its client, its clock,
// testEnv, and a 5s step timeout.
func (p *idp) options() engine.Options {
	return engine.Options{
		HTTPClient:  p.srv.Client(),
		StepTimeout: 5 * time.Second,
		LookupEnv:   testEnv,
		Now:         p.clock.Now,
	}
}

// newEngine compiles set, failing the test on error, and closes the engine
// when the test ends.
func newEngine(tb testing.TB, set *strategies.Plan, opts engine.Options) *engine.Engine {
	tb.Helper()
	e, err := engine.New(set, opts)
	if err != nil {
		tb.Fatalf("engine.New: %v", err)
	}
	tb.Cleanup(e.Close)
	return e
}

// strategy loads file against the IdP, builds an engine with p.options()
// changed by mods, and returns the "acme" strategy.
func (p *idp) strategy(tb testing.TB, file string, mods ...func(*engine.Options)) *engine.Strategy {
	tb.Helper()
	opts := p.options()
	for _, m := range mods {
		m(&opts)
	}
	s := newEngine(tb, parseFile(tb, p.URL, file), opts).Strategy(testStrategy)
	if s == nil {
		tb.Fatalf("no strategy %q", testStrategy)
	}
	return s
}

// begin starts a login: NewLogin, AuthCodeURL, and the IdP's authorize
// step. It returns the login and the callback query.
func (p *idp) begin(tb testing.TB, s *engine.Strategy) (*engine.Login, url.Values) {
	tb.Helper()
	l := s.NewLogin()
	u, err := s.AuthCodeURL(l)
	if err != nil {
		tb.Fatalf("AuthCodeURL: %v", err)
	}
	return l, p.authorize(u)
}
