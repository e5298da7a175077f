package strategies

import (
	"strings"
	"testing"
)

// TestEscapeHatchErrors: client keys, signed secrets, multi-tenant issuers
// and path segments that cannot work are refused, each error naming the
// file, strategy, step and field.
func TestEscapeHatchErrors(t *testing.T) {
	t.Parallel()
	const file = `{"base_uri": "https://app.test", "strategies": {"acme": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "scope": "openid",
	  {{KEYS}}
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST",
	     {{TOKEN}}
	     "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}" {{FORM}}}},
	    {"name": "jwt", "decode": "${token.id_token}", {{JWT}}}
	    {{MORE}}]}}}`
	tests := []struct {
		name                       string
		keys, token, form, jwt     string
		more                       string
		step, field, wantInMessage string
	}{
		{name: "private_key_jwt without a key", keys: `"client_secret": "${env.S}",`, token: `"client_auth": "private_key_jwt",`,
			step: "token", field: "client_auth", wantInMessage: "client_key"},
		{name: "a key written in the file", keys: `"client_key": "-----BEGIN PRIVATE KEY-----MIGH-----END PRIVATE KEY-----",`, token: `"client_auth": "private_key_jwt",`,
			field: "client_key", wantInMessage: "${env.NAME}"},
		{name: "client_assertion in the form", keys: `"client_key": "${env.K}",`, token: `"client_auth": "private_key_jwt",`, form: `, "client_assertion": "x"`,
			step: "token", field: "form.client_assertion", wantInMessage: "remove"},
		{name: "unknown client_auth", keys: `"client_key": "${env.K}",`, token: `"client_auth": "private_key_jws",`,
			step: "token", field: "client_auth", wantInMessage: "private_key_jwt"},
		{name: "signed secret without a key", keys: `"signed_client_secret": {"iss": "T", "aud": "https://idp.test"},`,
			field: "signed_client_secret", wantInMessage: "client_key"},
		{name: "signed secret and a client_secret", keys: `"client_key": "${env.K}", "client_secret": "${env.S}", "signed_client_secret": {"iss": "T", "aud": "https://idp.test"},`,
			field: "client_secret", wantInMessage: "remove client_secret"},
		{name: "signed secret without iss", keys: `"client_key": "${env.K}", "signed_client_secret": {"aud": "https://idp.test"},`,
			field: "signed_client_secret.iss", wantInMessage: "missing"},
		{name: "signed secret lives too long", keys: `"client_key": "${env.K}", "signed_client_secret": {"iss": "T", "aud": "A", "lifetime": "4383h"},`,
			field: "signed_client_secret.lifetime", wantInMessage: "six months"},
		{name: "signed secret lifetime not a duration", keys: `"client_key": "${env.K}", "signed_client_secret": {"iss": "T", "aud": "A", "lifetime": "6 months"},`,
			field: "signed_client_secret.lifetime", wantInMessage: "not a duration"},
		{name: "signed secret unknown field", keys: `"client_key": "${env.K}", "signed_client_secret": {"iss": "T", "aud": "A", "exp": "1"},`,
			field: "signed_client_secret.exp", wantInMessage: "unknown field"},
		{name: "signed secret reads the request", keys: `"client_key": "${env.K}", "signed_client_secret": {"iss": "${auth.code}", "aud": "A"},`,
			field: "signed_client_secret.iss", wantInMessage: "fixed when the engine starts"},
		{name: "key reads the client secret", keys: `"client_secret": "${env.S}", "client_key": "${client_secret}",`,
			field: "client_key", wantInMessage: "may not read the client secret"},
		{name: "allowed_tenants without a tenant issuer", keys: `"client_secret": "${env.S}", "allowed_tenants": "t1",`, jwt: `"jwks_uri": "https://idp.test/keys", "issuer": "https://idp.test"`,
			field: "allowed_tenants", wantInMessage: "{tenantid}"},
		{name: "tenant issuer without jwks_uri", keys: `"client_secret": "${env.S}",`, jwt: `"issuer": "https://idp.test/{tenantid}/v2.0"`,
			step: "jwt", field: "jwks_uri", wantInMessage: "multi-tenant"},
		{name: "tenant placeholder twice", keys: `"client_secret": "${env.S}",`, jwt: `"jwks_uri": "https://idp.test/keys", "issuer": "https://idp.test/{tenantid}/{tenantid}"`,
			step: "jwt", field: "issuer", wantInMessage: "once"},
		{name: "empty allowed_tenants", keys: `"client_secret": "${env.S}", "allowed_tenants": " , ",`, jwt: `"jwks_uri": "https://idp.test/keys", "issuer": "https://idp.test/{tenantid}/v2.0"`,
			field: "allowed_tenants", wantInMessage: "empty"},
		{name: "provider value in the path, unmarked", keys: `"client_secret": "${env.S}",`, more: `, {"name": "info", "uri": "https://idp.test/tokens/${token.access_token}"}`,
			step: "info", field: "uri", wantInMessage: "may not form the scheme, host or path"},
		{name: "segment in the query", keys: `"client_secret": "${env.S}",`, more: `, {"name": "info", "uri": "https://idp.test/tokens?t=${segment:token.access_token}"}`,
			step: "info", field: "uri", wantInMessage: "belongs in the path"},
		{name: "segment as the host", keys: `"client_secret": "${env.S}",`, more: `, {"name": "info", "uri": "https://${segment:token.host}/x"}`,
			step: "info", field: "uri", wantInMessage: "after the host"},
		{name: "segment in a header", keys: `"client_secret": "${env.S}",`, more: `, {"name": "info", "uri": "https://idp.test/me", "config": {"headers": {"X": "${segment:token.access_token}"}}}`,
			step: "info", field: "config.headers.X", wantInMessage: "URI templates only"},
		{name: "segment of an unknown step", keys: `"client_secret": "${env.S}",`, more: `, {"name": "info", "uri": "https://idp.test/t/${segment:tokn.access_token}"}`,
			step: "info", field: "uri", wantInMessage: "unknown variable ${segment:tokn.access_token}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jwt := tt.jwt
			if jwt == "" {
				jwt = `"jwks_uri": "https://idp.test/keys", "issuer": "https://idp.test"`
			}
			f := strings.NewReplacer("{{KEYS}}", tt.keys, "{{TOKEN}}", tt.token, "{{FORM}}", tt.form, "{{JWT}}", jwt, "{{MORE}}", tt.more).Replace(file)
			ps := Check("f.json", []byte(f))
			for _, p := range ps {
				if p.Severity == SevError && p.File == "f.json" && p.Strategy == "acme" && p.Step == tt.step && p.Field == tt.field && strings.Contains(p.Message, tt.wantInMessage) {
					if strings.Contains(p.Message, "MIGH") {
						t.Errorf("the message quotes the key: %s", p.Error())
					}
					return
				}
			}
			t.Fatalf("no error on step %q field %q containing %q; got:\n%v\nfile:\n%s", tt.step, tt.field, tt.wantInMessage, ps, f)
		})
	}
}

// TestEscapeHatchesValid: the same features, used as documented, load
// with no problem at all.
func TestEscapeHatchesValid(t *testing.T) {
	t.Parallel()
	const file = `{"base_uri": "https://app.test", "strategies": {"acme": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "scope": "openid",
	  "team_id": "T1", "client_key": "${env.KEY}", "client_key_id": "k1",
	  "signed_client_secret": {"iss": "${team_id}", "aud": "https://idp.test", "lifetime": "720h"},
	  "allowed_tenants": "t1, t2",
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST", "client_auth": "private_key_jwt",
	     "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}"}},
	    {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "https://idp.test/keys", "issuer": "https://idp.test/{tenantid}/v2.0"},
	    {"name": "info", "uri": "https://idp.test/tokens/${segment:token.access_token}/info"},
	    {"name": "refresh", "uri": "https://idp.test/token", "method": "POST", "form": {"grant_type": "refresh_token", "refresh_token": "${refresh_token}", "client_id": "${client_id}", "client_secret": "${client_secret}"}},
	    {"name": "revoke", "uri": "https://idp.test/tokens/${segment:refresh_token}", "method": "DELETE"}]}}}`
	if ps := Check("f.json", []byte(file)); len(ps) != 0 {
		t.Fatalf("problems:\n%v", ps)
	}
	plan, err := Parse("f.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategy("acme")
	if sp.ClientKey() == nil || sp.ClientKeyID() == nil || sp.AllowedTenants() == nil {
		t.Fatal("key, kid or allowed_tenants not in the plan")
	}
	iss, sub, aud, lifetime, ok := sp.SignedSecret()
	if !ok || iss.String() != "${team_id}" || sub.String() != "${client_id}" || aud.String() != "https://idp.test" || lifetime.Hours() != 720 {
		t.Fatalf("signed secret %v %v %v %v %v", iss, sub, aud, lifetime, ok)
	}
	if req := plan.Lookup("acme").Required(); len(req) != 0 {
		t.Errorf("required %v: a signed client secret is not the user's to set", req)
	}
}

// TestClientKeyUnused: a client_key nothing signs with draws a warning.
func TestClientKeyUnused(t *testing.T) {
	t.Parallel()
	file := `{"base_uri": "https://app.test", "strategies": {"acme": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "client_secret": "${env.S}", "scope": "read", "client_key": "${env.K}",
	  "steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST",
	             "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "code_verifier": "${code_verifier}", "client_secret": "${client_secret}"}},
	            {"name": "jwt", "uri": "https://idp.test/me"}]}}}`
	ps := Check("f.json", []byte(file))
	if len(ps) != 1 || ps[0].Severity != SevWarning || ps[0].Field != "client_key" || !strings.Contains(ps[0].Message, "never used") {
		t.Fatalf("want one warning on client_key, got:\n%v", ps)
	}
}

// TestSignedSecretNotFixed: a value fixed when the engine starts cannot
// hold a secret minted per request.
func TestSignedSecretNotFixed(t *testing.T) {
	t.Parallel()
	file := `{"base_uri": "https://app.test", "strategies": {"acme": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "scope": "read", "pkce": false,
	  "client_key": "${env.K}", "signed_client_secret": {"iss": "T", "aud": "A"}, "basic": "Basic ${client_secret}",
	  "steps": [{"name": "token", "uri": "https://idp.test/token", "method": "POST", "config": {"headers": {"Authorization": "${basic}"}},
	             "form": {"grant_type": "${grant_type}", "code": "${auth.code}"}},
	            {"name": "jwt", "uri": "https://idp.test/me"}]}}}`
	for _, p := range Check("f.json", []byte(file)) {
		if p.Severity == SevError && p.Field == "basic" && strings.Contains(p.Message, "signed per request") {
			return
		}
	}
	t.Fatalf("no error on the variable basic:\n%v", Check("f.json", []byte(file)))
}
