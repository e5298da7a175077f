package devidp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The device authorization grant (RFC 8628). op serves the device
// authorization endpoint (/device_authorization) and the token endpoint's
// device_code grant; this file keeps the device codes and serves the page
// where the user approves one (/device, the verification_uri), with the
// user code, a username and a password, as on the login page.

// Device authorization settings.
const (
	devicePath         = "/device"
	deviceCodeLifetime = 10 * time.Minute
	devicePollInterval = 5 * time.Second
)

var _ op.DeviceAuthorizationStorage = (*storage)(nil)

// deviceConfig is the op package's device authorization configuration.
func deviceConfig() op.DeviceAuthorizationConfig {
	return op.DeviceAuthorizationConfig{
		Lifetime:     deviceCodeLifetime,
		PollInterval: devicePollInterval,
		UserFormPath: devicePath,
		UserCode:     op.UserCodeBase20,
	}
}

// deviceGrant is one device authorization, from the device's request until
// its tokens are issued, it is denied, or it expires.
type deviceGrant struct {
	clientID string
	userCode string
	scopes   []string
	expires  time.Time // on the Provider's clock (Options.Now)

	done, denied bool
	userID       string
	sid          string
	authTime     time.Time
	redeemed     bool

	// handed is the state last handed to op for a done grant: op passes it
	// back to CreateAccessToken, which finds the grant by it.
	handed *op.DeviceAuthorizationState
}

// StoreDeviceAuthorization implements op.DeviceAuthorizationStorage.
func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, _ time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[clientID]; !ok {
		return fmt.Errorf("devidp: unknown client %q", clientID)
	}
	now := s.now()
	if s.devices == nil {
		s.devices = map[string]*deviceGrant{}
	}
	for code, g := range s.devices {
		if now.After(g.expires) {
			delete(s.devices, code) // user codes are short: forget the old ones
		} else if g.userCode == userCode {
			return op.ErrDuplicateUserCode
		}
	}
	s.devices[deviceCode] = &deviceGrant{clientID: clientID, userCode: userCode, scopes: append([]string(nil), scopes...),
		expires: now.Add(deviceCodeLifetime)}
	return nil
}

// GetDeviceAuthorizatonState implements op.DeviceAuthorizationStorage (op's
// spelling). op answers an error here with access_denied, an expired state
// with expired_token, a pending one with authorization_pending.
func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.devices[deviceCode]
	switch {
	case !ok || g.clientID != clientID:
		return nil, errors.New("devidp: device code unknown for this client")
	case g.redeemed:
		return nil, errors.New("devidp: device code already used")
	}
	st := &op.DeviceAuthorizationState{ClientID: g.clientID, Audience: []string{g.clientID}, Scopes: g.scopes,
		Expires: time.Now().Add(deviceCodeLifetime), Done: g.done, Denied: g.denied}
	if s.now().After(g.expires) {
		st.Expires = time.Time{} // op compares with its own clock
	}
	if g.done {
		st.Subject, st.AMR, st.AuthTime = g.userID, []string{"pwd"}, g.authTime
		g.handed = st
	}
	return st, nil
}

// redeemDevice issues the tokens of an approved device grant, once.
func (s *storage) redeemDevice(st *op.DeviceAuthorizationState, withRefresh bool) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *deviceGrant
	for _, dg := range s.devices {
		if dg.handed == st {
			g = dg
		}
	}
	if g == nil || !g.done || g.redeemed {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("device code unknown or already used")
	}
	ss, ok := s.sessions[g.sid]
	if !ok {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the sign-in session has ended")
	}
	g.redeemed = true
	ss.join(g.clientID, s.now())
	at := s.newAccessToken(randomID(16), g.sid, g.clientID, g.userID, []string{g.clientID}, g.scopes)
	if !withRefresh {
		return at.id, "", at.expires, nil
	}
	rt := s.newRefreshToken(refreshToken{grantID: at.grantID, sid: g.sid, clientID: g.clientID, subject: g.userID,
		audience: []string{g.clientID}, scopes: g.scopes, amr: []string{"pwd"}, authTime: g.authTime})
	return at.id, rt.token, at.expires, nil
}

// normalizeUserCode is how a typed user code is compared (RFC 8628 §6.1):
// case, dashes and spaces do not count.
func normalizeUserCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(c))
}

// errDeviceNotPending is the device page's answer to an unknown, expired
// or finished user code.
var errDeviceNotPending = errors.New("devidp: the code is unknown, expired or already used")

// answerDevice approves (or denies) the pending grant of a user code for
// userID.
func (s *storage) answerDevice(userCode, userID string, approve bool) (clientID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, g := range s.devices {
		if normalizeUserCode(g.userCode) != normalizeUserCode(userCode) || g.done || g.denied || now.After(g.expires) {
			continue
		}
		if !approve {
			g.denied = true
			return g.clientID, nil
		}
		g.done, g.userID, g.authTime = true, userID, now
		g.sid = s.newSession(userID, now).id
		return g.clientID, nil
	}
	return "", errDeviceNotPending
}

// devicePage is the data of the "device" template.
type devicePage struct {
	Title    string
	Action   string
	UserCode string
	Username string
	Error    string
	Hints    []*User
}

// showDevice serves the verification page; ?user_code= fills the code in.
func (p *Provider) showDevice(w http.ResponseWriter, r *http.Request) {
	p.renderDevice(w, http.StatusOK, r.URL.Query().Get("user_code"), "", "")
}

// submitDevice checks the username and password and approves, or with
// action=deny denies, the device's request.
func (p *Provider) submitDevice(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		p.render(w, http.StatusBadRequest, "message", messagePage{Title: "Bad request", Text: "The form could not be read."})
		return
	}
	code, username := r.PostForm.Get("user_code"), r.PostForm.Get("username")
	user, ok := p.store.users.authenticate(username, r.PostForm.Get("password"))
	if !ok {
		p.stats.failedLogins.Add(1)
		p.renderDevice(w, http.StatusUnauthorized, code, username, "Wrong username or password.")
		return
	}
	approve := r.PostForm.Get("action") != "deny"
	clientID, err := p.store.answerDevice(code, user.ID, approve)
	if err != nil {
		p.renderDevice(w, http.StatusBadRequest, code, username, "This code is unknown, expired or already used.")
		return
	}
	if !approve {
		p.render(w, http.StatusOK, "message", messagePage{Title: "Request denied", Text: "The device was not signed in. You can close this page."})
		return
	}
	p.stats.logins.Add(1)
	p.render(w, http.StatusOK, "message", messagePage{Title: "Device signed in",
		Text: "You are signed in to " + clientID + " on your device. You can close this page."})
}

// renderDevice shows the verification form.
func (p *Provider) renderDevice(w http.ResponseWriter, status int, code, username, message string) {
	page := devicePage{Title: "Sign in a device", Action: p.Issuer() + devicePath, UserCode: code, Username: username, Error: message}
	if p.showHints {
		page.Hints = p.store.users.ordered
	}
	p.render(w, status, "device", page)
}

// ErrDeviceCode is returned by ApproveDevice and DenyDevice when the page
// does not know the user code (unknown, expired or already answered).
var ErrDeviceCode = errors.New("devidp: the device code is unknown, expired or already used")

// ApproveDevice answers a device authorization the way a user would on a
// phone: it GETs verificationURI (the answer's verification_uri_complete,
// or verification_uri), and POSTs the page's form with the user code,
// username and password. userCode may be "" when verificationURI carries
// it. A refused password gives ErrInvalidCredentials.
func (p *Provider) ApproveDevice(ctx context.Context, client *http.Client, verificationURI, userCode, username, password string) error {
	return p.answerDeviceForm(ctx, client, verificationURI, userCode, username, password, "approve")
}

// DenyDevice is ApproveDevice with the form's Deny button.
func (p *Provider) DenyDevice(ctx context.Context, client *http.Client, verificationURI, userCode, username, password string) error {
	return p.answerDeviceForm(ctx, client, verificationURI, userCode, username, password, "deny")
}

func (p *Provider) answerDeviceForm(ctx context.Context, client *http.Client, verificationURI, userCode, username, password, action string) error {
	u, err := url.Parse(verificationURI)
	if err != nil || !p.onIssuer(u) || u.Path != p.issuer.Path+devicePath {
		return fmt.Errorf("devidp: device: %q is not this Provider's verification page", verificationURI)
	}
	if userCode == "" {
		userCode = u.Query().Get("user_code")
	}
	c := p.stayOnIssuer(client)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("devidp: device: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("devidp: device: page: %w", err)
	}
	if body := drain(resp); resp.StatusCode != http.StatusOK {
		return fmt.Errorf("devidp: device: page answered %s: %s", resp.Status, body)
	}
	form := url.Values{"user_code": {userCode}, "username": {username}, "password": {password}, "action": {action}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer()+devicePath, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("devidp: device: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return fmt.Errorf("devidp: device: submit: %w", err)
	}
	body := drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return ErrInvalidCredentials
	case http.StatusBadRequest:
		return ErrDeviceCode
	}
	return fmt.Errorf("devidp: device: submit answered %s: %s", resp.Status, body)
}
