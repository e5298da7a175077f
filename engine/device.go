package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// Device login errors (RFC 8628 §3.5); the IdP's ProviderError is wrapped
// too.
var (
	// ErrNoDeviceLogin: the strategy has no device_uri, or its discovery
	// document names no device_authorization_endpoint.
	ErrNoDeviceLogin = errors.New("the strategy has no device login")
	// ErrDeviceDenied: the user refused the device's request
	// (access_denied).
	ErrDeviceDenied = errors.New("the user denied the device login")
	// ErrDeviceExpired: the device code expired before the user approved
	// it (expired_token, or its expires_in passed).
	ErrDeviceExpired = errors.New("the device code expired")
)

// Polling intervals (RFC 8628 §3.2 and §3.5).
const (
	defaultDeviceInterval = 5 * time.Second // when the IdP names none
	slowDownStep          = 5 * time.Second // added at every slow_down
)

// DeviceAuth is a device authorization in progress (RFC 8628 §3.2): what
// to show the user, and the device code the poll sends (kept unexported:
// it is a credential until it expires).
type DeviceAuth struct {
	// UserCode is the code the user types at VerificationURI.
	UserCode string
	// VerificationURI is where the user goes, on any device.
	VerificationURI string
	// VerificationURIComplete is VerificationURI with the user code in it,
	// when the IdP gives one: the one link to show (or to put in a QR code).
	VerificationURIComplete string
	// Expiry is when the device code expires; zero when the IdP says not.
	Expiry time.Time
	// Interval is the wait between two polls; slow_down adds 5 seconds.
	Interval time.Duration

	deviceCode string
}

// CanDeviceLogin reports whether the strategy has a device login: a
// device_uri that the engine could resolve (for oidc, the discovery
// document names a device_authorization_endpoint).
func (s *Strategy) CanDeviceLogin() bool {
	return s.plan.DeviceURI() != nil && s.leftOut[StepDevice] == "" && !s.plan.ClientCredentials()
}

// StartDevice asks the device authorization endpoint for a device code
// (RFC 8628 §3.1): a form POST of client_id and scope, the client
// authenticated as at the token step. Show the user the answer's
// VerificationURIComplete (or VerificationURI and UserCode), then call
// PollDevice.
func (s *Strategy) StartDevice(ctx context.Context) (*DeviceAuth, error) {
	name := s.plan.Name()
	fail := func(err error) (*DeviceAuth, error) {
		return nil, &StepError{Strategy: name, Step: StepDevice, Err: err}
	}
	if !s.CanDeviceLogin() {
		return fail(ErrNoDeviceLogin)
	}
	tok := s.loginStep(strategies.StepToken)
	if tok == nil {
		return fail(errors.New("the strategy has no token step to poll"))
	}
	sc := &scope{s: s, results: map[string][]byte{}}
	uri, err := s.plan.DeviceURI().Execute(sc.value)
	if err != nil {
		return fail(fmt.Errorf("device_uri: %w", wrapExec(err)))
	}
	form := url.Values{"client_id": {s.vars["client_id"]}}
	if scope := s.vars["scope"]; scope != "" {
		form.Set("scope", scope)
	}
	var basic *[2]string
	switch tok.clientAuth {
	case strategies.ClientAuthBasic:
		basic = &[2]string{s.vars["client_id"], s.vars["client_secret"]}
		form.Del("client_id")
	case strategies.ClientAuthPost:
		form.Set("client_secret", s.vars["client_secret"])
	case "":
		// The token step authenticates the client itself: the same here.
		if u, p := tok.BasicAuth(); u != nil {
			user, err := u.Execute(sc.value)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", u.Field(), wrapExec(err)))
			}
			pass, err := p.Execute(sc.value)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", p.Field(), wrapExec(err)))
			}
			basic = &[2]string{user, pass}
		}
		for _, f := range tok.Form() {
			if f.Name == "client_secret" {
				v, err := f.Value.Execute(sc.value)
				if err != nil {
					return fail(fmt.Errorf("%s: %w", f.Value.Field(), wrapExec(err)))
				}
				form.Set("client_secret", v)
			}
		}
	}
	start := time.Now()
	doc, err := s.postForm(ctx, StepDevice, uri, form, basic)
	var da *DeviceAuth
	if err == nil {
		da, err = s.deviceAuth(doc)
	}
	s.observe(StepDevice, start, err)
	if err != nil {
		return fail(err)
	}
	return da, nil
}

// deviceAuth reads a device authorization answer (RFC 8628 §3.2).
func (s *Strategy) deviceAuth(doc []byte) (*DeviceAuth, error) {
	get := func(k string) string { return gjson.GetBytes(doc, k).String() }
	da := &DeviceAuth{
		deviceCode:              get("device_code"),
		UserCode:                get("user_code"),
		VerificationURI:         get("verification_uri"),
		VerificationURIComplete: get("verification_uri_complete"),
		Interval:                defaultDeviceInterval,
	}
	if da.VerificationURI == "" {
		da.VerificationURI = get("verification_url") // Google's spelling
	}
	switch {
	case da.deviceCode == "":
		return nil, fmt.Errorf("%w: the answer has no device_code", ErrBadResponse)
	case da.UserCode == "" || !printable(da.UserCode):
		return nil, fmt.Errorf("%w: the answer has no user_code, or one with control characters", ErrBadResponse)
	case !webURL(da.VerificationURI):
		return nil, fmt.Errorf("%w: verification_uri is not an http(s) URL", ErrBadResponse)
	case da.VerificationURIComplete != "" && !webURL(da.VerificationURIComplete):
		return nil, fmt.Errorf("%w: verification_uri_complete is not an http(s) URL", ErrBadResponse)
	}
	if life, ok := lifetime(gjson.GetBytes(doc, "expires_in")); ok {
		da.Expiry = s.e.opts.Now().Add(life)
	}
	if v := gjson.GetBytes(doc, "interval"); v.Type == gjson.Number && v.Float() >= 1 && v.Float() <= 3600 {
		da.Interval = time.Duration(v.Int()) * time.Second
	}
	return da, nil
}

// webURL reports whether u is an absolute http(s) URL that is safe to
// print to a terminal: the user is told to open it.
func webURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && printable(u)
}

// printable reports whether s has no control characters (which could
// rewrite the terminal it is printed to).
func printable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) < 0
}

// PollDevice polls the token step until the user has approved the device
// code (RFC 8628 §3.4, §3.5): it waits Interval (Options.Sleep) before each
// poll, goes on at authorization_pending, waits 5 seconds longer from then
// on at slow_down, and stops at access_denied (ErrDeviceDenied),
// expired_token or the code's expiry (ErrDeviceExpired), any other error,
// or when ctx ends. The token step runs with ${grant_type} set to
// urn:ietf:params:oauth:grant-type:device_code and ${device_code}; its form
// fields that read a browser login's values are left out. Then the
// remaining login steps run as after a callback (the jwt step verifies the
// ID token) and PollDevice returns their Result. There is no nonce: RFC
// 8628 has none, and the ID token comes straight from the token endpoint.
func (s *Strategy) PollDevice(ctx context.Context, da *DeviceAuth) (*Result, error) {
	name := s.plan.Name()
	fail := func(err error) (*Result, error) {
		return nil, &StepError{Strategy: name, Step: strategies.StepToken, Err: err}
	}
	if da == nil || da.deviceCode == "" {
		return fail(errors.New("PollDevice needs a DeviceAuth from StartDevice"))
	}
	tok := s.loginStep(strategies.StepToken)
	if tok == nil || !s.CanDeviceLogin() {
		return fail(ErrNoDeviceLogin)
	}
	sc := &scope{s: s, results: map[string][]byte{}, device: da}
	for {
		if err := s.e.opts.Sleep(ctx, da.Interval); err != nil {
			return fail(err)
		}
		if !da.Expiry.IsZero() && !s.e.opts.Now().Before(da.Expiry) {
			return fail(ErrDeviceExpired)
		}
		start := time.Now()
		doc, err := s.runHTTP(ctx, tok, sc)
		var pe *ProviderError
		if errors.As(err, &pe) {
			switch pe.Code {
			case CodeAuthorizationPending:
				continue
			case CodeSlowDown:
				da.Interval += slowDownStep
				continue
			case CodeAccessDenied:
				err = fmt.Errorf("%w: %w", ErrDeviceDenied, err)
			case CodeExpiredToken:
				err = fmt.Errorf("%w: %w", ErrDeviceExpired, err)
			}
		}
		s.observe(strategies.StepToken, start, err)
		if err != nil {
			return fail(err)
		}
		sc.results[strategies.StepToken] = doc
		break
	}
	return s.runLogin(ctx, sc, nil)
}

// leavesOut reports whether a run leaves out a form field of step st:
// in the token step, a device login and a client_credentials token leave
// out the fields that read a browser login's values (${auth.code},
// ${code_verifier}, ...), and any other run those that read
// ${device_code}. The catalogue's oidc token step so serves every kind of
// login.
func (sc *scope) leavesOut(st *step, t *strategies.Template) bool {
	if st.Name() != strategies.StepToken {
		return false
	}
	noBrowser := sc.device != nil || sc.s.plan.ClientCredentials()
	for _, b := range t.Bindings() {
		if noBrowser && strategies.BrowserLoginValue(b) {
			return true
		}
		if sc.device == nil && b.Source == strategies.FromLogin && b.Root == strategies.VarDeviceCode {
			return true
		}
	}
	return false
}

// completeForm adds to a device login's poll of the token step what RFC
// 8628 §3.4 requires and the form does not place itself: grant_type and
// device_code; and to a client_credentials request (RFC 6749 §4.4.2) its
// grant_type and the strategy's scope.
func (sc *scope) completeForm(st *step, form url.Values) {
	if st.Name() != strategies.StepToken {
		return
	}
	if sc.device == nil {
		if sc.s.plan.ClientCredentials() {
			if !form.Has("grant_type") {
				form.Set("grant_type", strategies.GrantClientCredentials)
			}
			if scope := sc.s.vars["scope"]; scope != "" && !form.Has("scope") {
				form.Set("scope", scope)
			}
		}
		return
	}
	if !form.Has("grant_type") {
		form.Set("grant_type", strategies.GrantDeviceCode)
	}
	if !form.Has(strategies.VarDeviceCode) {
		form.Set(strategies.VarDeviceCode, sc.device.deviceCode)
	}
}

// postForm POSTs a form the engine built (not a step's) and returns the
// answer as JSON, with the checks of an HTTP step: size, status, an error
// in the body.
func (s *Strategy) postForm(ctx context.Context, stepName, uri string, form url.Values, basic *[2]string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.e.opts.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("uri: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic != nil {
		// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := s.e.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("POST %s: %w", redactURI(uri), unwrapURLError(err))
		}
		return nil, fmt.Errorf("%w: POST %s: %v", ErrUnreachable, redactURI(uri), unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: reading the answer: %v", ErrUnreachable, err)
	}
	doc, perr := toJSON(resp.Header.Get("Content-Type"), raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		pe := &ProviderError{Step: stepName, StatusCode: resp.StatusCode}
		if perr == nil {
			pe.Code = ErrorCode(gjson.GetBytes(doc, "error").String())
			pe.Description = gjson.GetBytes(doc, "error_description").String()
		}
		return nil, pe
	}
	if perr != nil {
		return nil, perr
	}
	if pe := answerError(stepName, doc, resp.StatusCode); pe != nil {
		return nil, pe
	}
	return doc, nil
}

// answerError is bodyError for an answer to no step of the plan: its
// "error" member only.
func answerError(name string, doc []byte, status int) *ProviderError {
	v := gjson.GetBytes(doc, "error")
	if !reportsError(v) {
		return nil
	}
	pe := &ProviderError{Step: name, StatusCode: status, Code: ErrorCode(clip(v.String(), maxErrorText))}
	pe.Description = gjson.GetBytes(doc, "error_description").String()
	return pe
}

// sleep is the default Options.Sleep.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
