package main

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// TestWebhookSecretFromEnvironmentOnly: the webhook secret is a setting
// with no flag (flags show in ps), read from AUTHFLOW_SIGNOUT_WEBHOOK_SECRET.
func TestWebhookSecretFromEnvironmentOnly(t *testing.T) {
	t.Setenv("AUTHFLOW_SIGNOUT_WEBHOOK_SECRET", "whsec-from-env")
	v := viper.New()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	bindSettings(v, fs)
	if f := fs.Lookup("signout-webhook-secret"); f != nil {
		t.Errorf("the webhook secret has a flag, --%s", f.Name)
	}
	if got := v.GetString("signout_webhook_secret"); got != "whsec-from-env" {
		t.Errorf("signout_webhook_secret = %q, want the environment's", got)
	}
}
