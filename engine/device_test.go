package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authflow/authflow/engine"
)

// deviceOnlyFile logs in through the device endpoint only.
const deviceOnlyFile = `{"base_uri": "https://app.test", "strategies": {"acme": {
	"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_uri": "{{IDP}}/device",
	"client_id": "acme-client", "client_secret": "${env.ACME_SECRET}", "scope": "openid email",
	"steps": [
	  {"name": "token", "uri": "{{IDP}}/device-token", "method": "POST", "client_auth": "client_secret_basic",
	   "form": {"grant_type": "${grant_type}", "device_code": "${device_code}"}},
	  {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "{{IDP}}/jwks", "issuer": "{{IDP}}"}]}}}`

// bothFile has a browser and a device login sharing one token step, as the
// built-in oidc does: the code exchange's fields, and none for the device.
const bothFile = `{"base_uri": "https://app.test", "strategies": {"acme": {
	"auth_uri": "{{IDP}}/authorize?response_type=code&client_id=${client_id}&redirect_uri=${redirect_uri}&scope=${scope}",
	"device_uri": "{{IDP}}/device",
	"client_id": "acme-client", "client_secret": "${env.ACME_SECRET}", "scope": "openid email",
	"steps": [
	  {"name": "token", "uri": "{{IDP}}/device-token", "method": "POST", "client_auth": "client_secret_basic",
	   "form": {"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}"}},
	  {"name": "jwt", "decode": "${token.id_token}", "jwks_uri": "{{IDP}}/jwks", "issuer": "{{IDP}}"}]}}}`

// deviceIdP is the test IdP with a device authorization endpoint and a
// token endpoint that answers polls from a script.
type deviceIdP struct {
	*idp
	mu        sync.Mutex
	script    []string // one answer per poll: pending, slow_down, denied, expired, ok, forged, wrong_aud, 500
	polls     []url.Values
	pollTimes []time.Time
	devForm   url.Values
	devAuth   string
	expiresIn int
	sleeps    []time.Duration
}

func newDeviceIdP(t *testing.T, script ...string) *deviceIdP {
	d := &deviceIdP{idp: newIDP(t), script: script, expiresIn: 600}
	d.handle("POST /device", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		d.mu.Lock()
		d.devForm, d.devAuth = r.PostForm, r.Header.Get("Authorization")
		exp := d.expiresIn
		d.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"device_code": "dc-secret-1", "user_code": "BCDF-GHJK",
			"verification_uri": d.URL + "/verify", "verification_uri_complete": d.URL + "/verify?user_code=BCDF-GHJK",
			"expires_in": exp, "interval": 5,
		})
	})
	d.handle("POST /device-token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		d.mu.Lock()
		d.polls = append(d.polls, r.PostForm)
		d.pollTimes = append(d.pollTimes, d.clock.Now())
		answer := "pending"
		if len(d.script) > 0 {
			answer, d.script = d.script[0], d.script[1:]
		}
		d.mu.Unlock()
		if _, _, ok := r.BasicAuth(); !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
			return
		}
		c := d.config()
		switch answer {
		case "pending":
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "authorization_pending"})
		case "slow_down":
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "slow_down"})
		case "denied":
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "access_denied"})
		case "expired":
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "expired_token"})
		case "500":
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "server_error"})
		default:
			switch answer {
			case "forged":
				c.signWith = otherRSASigner("rsa1") // the IdP's kid, a forger's key
			case "wrong_aud":
				c.claimsHook = func(m jwt.MapClaims) { m["aud"] = "another-client" }
			}
			writeJSON(w, http.StatusOK, map[string]any{"access_token": "at-device", "token_type": "Bearer", "expires_in": 300,
				"id_token": d.idToken(&grant{clientID: testClientID}, c)})
		}
	})
	return d
}

// sleep is the engine's Options.Sleep: it records the wait and moves the
// clock instead of sleeping.
func (d *deviceIdP) sleep(ctx context.Context, dur time.Duration) error {
	d.mu.Lock()
	d.sleeps = append(d.sleeps, dur)
	d.mu.Unlock()
	d.clock.Advance(dur)
	return ctx.Err()
}

func (d *deviceIdP) strategy(t *testing.T, file string) *engine.Strategy {
	return d.idp.strategy(t, file, func(o *engine.Options) { o.Sleep = d.sleep })
}

// TestDevicePolling: each answer of the token endpoint to a poll (RFC 8628
// §3.5) and what the engine does with it.
func TestDevicePolling(t *testing.T) {
	t.Parallel()
	s5, s10, s15 := 5*time.Second, 10*time.Second, 15*time.Second
	tests := []struct {
		name      string
		script    []string
		expiresIn int
		sleeps    []time.Duration
		wantErr   error
		wantCode  engine.ErrorCode
	}{
		{name: "approved at once", script: []string{"ok"}, sleeps: []time.Duration{s5}},
		{name: "authorization_pending polls on", script: []string{"pending", "pending", "ok"}, sleeps: []time.Duration{s5, s5, s5}},
		{name: "slow_down adds 5s for good", script: []string{"slow_down", "pending", "slow_down", "ok"}, sleeps: []time.Duration{s5, s10, s10, s15}},
		{name: "access_denied", script: []string{"pending", "denied"}, sleeps: []time.Duration{s5, s5}, wantErr: engine.ErrDeviceDenied, wantCode: engine.CodeAccessDenied},
		{name: "expired_token", script: []string{"expired"}, sleeps: []time.Duration{s5}, wantErr: engine.ErrDeviceExpired, wantCode: engine.CodeExpiredToken},
		{name: "expires_in passes while pending", expiresIn: 12, sleeps: []time.Duration{s5, s5, s5}, wantErr: engine.ErrDeviceExpired},
		{name: "another error ends it", script: []string{"500"}, sleeps: []time.Duration{s5}, wantCode: engine.CodeServerError},
		{name: "forged ID token", script: []string{"forged"}, sleeps: []time.Duration{s5}, wantErr: engine.ErrInvalidToken},
		{name: "ID token for another client", script: []string{"wrong_aud"}, sleeps: []time.Duration{s5}, wantErr: engine.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDeviceIdP(t, tt.script...)
			if tt.expiresIn != 0 {
				d.expiresIn = tt.expiresIn
			}
			s := d.strategy(t, deviceOnlyFile)
			da, err := s.StartDevice(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if da.UserCode != "BCDF-GHJK" || da.VerificationURIComplete != d.URL+"/verify?user_code=BCDF-GHJK" || da.Interval != s5 {
				t.Fatalf("DeviceAuth = %+v", da)
			}
			res, err := s.PollDevice(context.Background(), da)
			if !slices.Equal(d.sleeps, tt.sleeps) {
				t.Errorf("waits %v, want %v", d.sleeps, tt.sleeps)
			}
			var pe *engine.ProviderError
			switch {
			case tt.wantErr == nil && tt.wantCode == "":
				if err != nil {
					t.Fatalf("PollDevice: %v", err)
				}
				if res.Subject() != testSub || res.Tokens.AccessToken != "at-device" {
					t.Errorf("result: sub %q, tokens %+v", res.Subject(), res.Tokens)
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.wantCode != "" && (!errors.As(err, &pe) || pe.Code != tt.wantCode):
				t.Fatalf("err = %v, want the IdP's %s", err, tt.wantCode)
			case res != nil:
				t.Fatalf("a result with the error: %+v", res)
			}
		})
	}
}

// TestDeviceRequests: what the device authorization request and each poll
// send — client_id and scope, the client authenticated as at the token
// step, then grant_type and device_code and none of the code exchange's
// fields — and that a browser login of the same strategy sends no
// device_code.
func TestDeviceRequests(t *testing.T) {
	t.Parallel()
	d := newDeviceIdP(t, "pending", "ok")
	s := d.strategy(t, bothFile)
	if !s.CanDeviceLogin() || !s.BrowserLogin() {
		t.Fatalf("CanDeviceLogin %v, BrowserLogin %v", s.CanDeviceLogin(), s.BrowserLogin())
	}
	da, err := s.StartDevice(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.devForm.Get("scope") != "openid email" || !strings.HasPrefix(d.devAuth, "Basic ") || d.devForm.Has("client_secret") {
		t.Errorf("device request: form %v, Authorization %q", d.devForm, d.devAuth)
	}
	if _, err := s.PollDevice(context.Background(), da); err != nil {
		t.Fatal(err)
	}
	for _, f := range d.polls {
		want := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {"dc-secret-1"}}
		if f.Encode() != want.Encode() {
			t.Errorf("poll form %v, want %v", f, want)
		}
	}
	if !d.pollTimes[1].Equal(d.pollTimes[0].Add(5 * time.Second)) {
		t.Errorf("polls at %v", d.pollTimes)
	}
	if _, err := s.PollDevice(context.Background(), nil); err == nil {
		t.Error("PollDevice without a DeviceAuth succeeded")
	}
}

// TestDeviceContext: a cancelled context ends the polling.
func TestDeviceContext(t *testing.T) {
	t.Parallel()
	d := newDeviceIdP(t)
	s := d.strategy(t, deviceOnlyFile)
	da, err := s.StartDevice(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.PollDevice(ctx, da); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(d.polls) != 0 {
		t.Errorf("%d polls after cancel", len(d.polls))
	}
}

// TestDeviceAnswerChecked: a device authorization answer without a
// device code, or with a verification URI that is no web URL or carries
// control characters for the terminal, is refused.
func TestDeviceAnswerChecked(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]map[string]any{
		"no device_code":     {"user_code": "A", "verification_uri": "https://idp.test/v"},
		"javascript URI":     {"device_code": "d", "user_code": "A", "verification_uri": "javascript:alert(1)"},
		"terminal escape":    {"device_code": "d", "user_code": "A\x1b[2J", "verification_uri": "https://idp.test/v"},
		"escape in complete": {"device_code": "d", "user_code": "A", "verification_uri": "https://idp.test/v", "verification_uri_complete": "https://idp.test/v\x1b]8;;"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newIDP(t)
			p.handle("POST /device", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, answer) })
			s := p.strategy(t, deviceOnlyFile)
			if _, err := s.StartDevice(context.Background()); !errors.Is(err, engine.ErrBadResponse) {
				t.Fatalf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

// TestDeviceDiscovery: the built-in oidc's device login follows the
// discovery document: there when it names a device_authorization_endpoint,
// left out when it does not.
func TestDeviceDiscovery(t *testing.T) {
	t.Parallel()
	without := func(op string) map[string]any {
		d := fullDocument(op)
		delete(d, "device_authorization_endpoint")
		return d
	}
	for name, doc := range map[string]func(string) map[string]any{"named": fullDocument, "not named": without} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			op := newDiscoveryOP(t, doc)
			e, err := newOIDCEngine(t, discoveredFile(op.URL, `, "client_secret": "${env.DEX_SECRET}"`), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			s := e.Strategy("dex")
			_, err = s.StartDevice(context.Background())
			if want := name == "named"; s.CanDeviceLogin() != want || (s.LeftOut()[engine.StepDevice] != "") == want || errors.Is(err, engine.ErrNoDeviceLogin) == want {
				t.Errorf("CanDeviceLogin %v, left out %v, StartDevice %v", s.CanDeviceLogin(), s.LeftOut(), err)
			}
		})
	}
}
