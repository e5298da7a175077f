package strategies

import (
	"strings"
	"testing"
)

// tlFile is a strategy file with one strategy "a"; {{MOD}} stands for the
// keys a case adds and {{STEPS}} for the login steps it adds after "jwt".
const tlFile = `{"base_uri": "https://app.test", {{TOP}} "strategies": {"a": {
  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "client_secret": "${env.SECRET}",
  "scope": "openid email", {{MOD}}
  "steps": [
    {"name": "token", "uri": "https://idp.test/token", "method": "POST",
     "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}"}},
    {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}{{STEPS}},
    {"name": "refresh", "uri": "https://idp.test/token", "method": "POST",
     "form": {"grant_type": "refresh_token", "refresh_token": "${refresh_token}"}}]}}}`

func tlStrategy(top, mod, steps string) []byte {
	return []byte(strings.NewReplacer("{{TOP}}", top, "{{MOD}}", mod, "{{STEPS}}", steps).Replace(tlFile))
}

// TestTokenLeakRefused: a strategy whose user object or claims would hold
// the tokens (which /auth/session shows to the browser) is an error, both
// for validate (Check) and where serve loads files (Parse).
func TestTokenLeakRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, top, mod, steps string
		field                 string // the problem's field
	}{
		{"jwt_key names the token step", "", `"jwt_key": "token",`, "", "jwt_key"},
		{"file-level jwt_key names the token step", `"jwt_key": "token",`, "", "", "jwt_key"},
		{"claim maps token.access_token", "", `"claims": {"at": "token.access_token"},`, "", "claims.at"},
		{"claim maps token.refresh_token", "", `"claims": {"rt": "token.refresh_token"},`, "", "claims.rt"},
		{"claim maps token.id_token", "", `"claims": {"it": "token.id_token"},`, "", "claims.it"},
		{"claim maps the whole token answer", "", `"claims": {"all": "token.@this"},`, "", "claims.all"},
		{"claim maps a token by wildcard", "", `"claims": {"at": "token.access*"},`, "", "claims.at"},
		{"claim maps a nested token", "", `"claims": {"ut": "token.authed_user.access_token"},`, "", "claims.ut"},
		{"claim maps a multipath of the token answer", "", `"claims": {"m": "token.{access_token,id_token}"},`, "", "claims.m"},
		{"user step posts to the token endpoint", "", `"jwt_key": "again",`,
			`, {"name": "again", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "refresh_token", "refresh_token": "${token.refresh_token}"}}`, "jwt_key"},
		{"user step sends a grant_type elsewhere", "", `"jwt_key": "again",`,
			`, {"name": "again", "uri": "https://other.test/oauth", "method": "POST", "form": {"grant_type": "refresh_token", "refresh_token": "${token.refresh_token}"}}`, "jwt_key"},
		{"userinfo step calls the token endpoint", "", "",
			`, {"name": "userinfo", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "refresh_token", "refresh_token": "${token.refresh_token}"}}`, "uri"},
		{"claim reads a step that re-exchanges", "", `"claims": {"x": "again.access_token"},`,
			`, {"name": "again", "uri": "https://idp.test/token", "method": "POST", "json": {"grant_type": "refresh_token", "refresh_token": "${token.refresh_token}"}}`, "claims.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tlStrategy(tt.top, tt.mod, tt.steps)
			var found *Problem
			ps := Check("f.json", data)
			for i, p := range ps {
				if p.Severity == SevError && p.Field == tt.field && strings.Contains(p.Message, "/auth/session") {
					found = &ps[i]
				}
			}
			if found == nil {
				t.Errorf("validate: no error on %s naming /auth/session; got:\n%v", tt.field, ps)
			}
			if _, err := Parse("f.json", data); err == nil {
				t.Errorf("load: the file loaded; it must be refused")
			}
		})
	}
}

// TestTokenStepClaimsAllowed: facts a token answer carries beside the
// tokens (Slack's team, Strava's athlete, the granted scope) may be mapped,
// and the usual user steps stay valid.
func TestTokenStepClaimsAllowed(t *testing.T) {
	t.Parallel()
	for _, mod := range []string{
		`"claims": {"scope": "token.scope", "team": "token.team.id", "athlete": "token.athlete.id"},`,
		`"claims": {"email": "email", "name": "jwt.name"},`,
		`"jwt_key": "profile",`, // names no step: the jwt step is the user step
	} {
		t.Run(mod, func(t *testing.T) {
			if _, err := Parse("f.json", tlStrategy("", mod, "")); err != nil {
				t.Errorf("refused:\n%v", err)
			}
		})
	}
	userinfo := `, {"name": "userinfo", "uri": "https://idp.test/userinfo", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}}`
	if _, err := Parse("f.json", tlStrategy("", "", userinfo)); err != nil {
		t.Errorf("a userinfo step reading the access token was refused:\n%v", err)
	}
}

// TestTokenLeakCodeInBody: a user step that posts the callback's code (a
// code exchange; GitHub's needs no grant_type) is refused; the code in a
// URI query of a userinfo step (engine's escaping tests) is not a token
// request.
func TestTokenLeakCodeInBody(t *testing.T) {
	t.Parallel()
	exchange := `, {"name": "again", "uri": "https://gh.test/login/oauth/access_token", "method": "POST", "form": {"code": "${auth.code}", "client_id": "${client_id}"}}`
	if _, err := Parse("f.json", tlStrategy("", `"jwt_key": "again",`, exchange)); err == nil || !strings.Contains(err.Error(), "it sends ${auth.code}") {
		t.Errorf("a user step posting the code loaded, or the error does not say why: %v", err)
	}
	query := `, {"name": "userinfo", "uri": "https://idp.test/users?c=${auth.code}"}`
	if _, err := Parse("f.json", tlStrategy("", "", query)); err != nil {
		t.Errorf("refused: %v", err)
	}
}
