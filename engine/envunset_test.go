package engine_test

import (
	"testing"

	"github.com/authflow/authflow/engine"
)

// TestEnvUnsetMessage: an unset ${env.NAME} reads as the variable first,
// then where the file reads it.
func TestEnvUnsetMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want string
	}{
		{"client secret", oidcFile(authPost),
			`engine: test.json: environment variable ACME_SECRET is not set (client_secret of strategy "acme")`},
		{"step header", stratFile("", tokenStep(authPost), jwtStepJWKS,
			`{"name": "userinfo", "uri": "{{IDP}}/userinfo", "config": {"headers": {"X-Api-Key": "${env.ACME_API_KEY}"}}}`),
			`engine: test.json: environment variable ACME_API_KEY is not set (config.headers.X-Api-Key in step "userinfo" of strategy "acme")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := parseFile(t, "https://idp.test", tt.file)
			_, err := engine.New(set, engine.Options{LookupEnv: func(k string) (string, bool) {
				return "s", k == "ACME_SECRET" && tt.name != "client secret"
			}})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New: %v\nwant: %s", err, tt.want)
			}
		})
	}
}
