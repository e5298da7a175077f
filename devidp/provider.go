package devidp

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes that Options does not expose.
const (
	idTokenLifetime     = time.Hour
	authRequestLifetime = 10 * time.Minute // from authorize to the code exchange
	codeLifetime        = time.Minute      // from the code's issue to its exchange
)

// Paths the Provider serves itself, next to the op package's endpoints.
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
)

// scopeGroups asks for the groups claim (profile asks for it too).
const scopeGroups = "groups"

// Options configures a Provider. New applies the defaults documented on each
// field; Issuer is the only required one.
type Options struct {
	// Issuer is the issuer identifier, exactly as clients will configure it:
	// an http or https URL without query or fragment, for example an
	// httptest server's URL. A trailing slash is dropped. When it has a path
	// (http://127.0.0.1:8080/idp), the Provider expects requests under that
	// path: mount it there. Required.
	Issuer string
	// Algorithm signs ID tokens: "RS256" (an RSA 2048 key) or "ES256" (a
	// P-256 key). Default "RS256".
	Algorithm string
	// AccessTokenLifetime is how long an access token is accepted at the
	// UserInfo endpoint. Tests set it short to force refreshes. Default 5m.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token may be used; each
	// refresh hands out a new one with a fresh lifetime. Default 24h.
	RefreshTokenLifetime time.Duration
	// Clients are the registered OAuth 2.0 clients.
	Clients []Client
	// Users are the accounts that can sign in on the login page.
	Users []User
	// ShowHints prints every user's username and password on the login page,
	// for the demo. Default false.
	ShowHints bool
	// AllowInsecureHTTP permits an http:// issuer on a host that is not
	// loopback. An http issuer on localhost, 127.0.0.0/8 or ::1 is always
	// allowed. OpenID Connect requires https everywhere else: use this only
	// for a demo inside a private network. Default false.
	AllowInsecureHTTP bool
	// BackchannelClient POSTs logout tokens to the clients'
	// BackchannelLogoutURIs (a copy of it, which follows no redirects).
	// Each delivery also has its own 5s deadline. Default: a client with a
	// 5s timeout.
	BackchannelClient *http.Client
	// Now is the clock of what the Provider keeps: authorization requests
	// and codes, access and refresh tokens, sessions. Tests move it forward
	// to expire them. Signed tokens (ID and logout tokens) and expires_in,
	// which the op package computes, keep real time. Default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Algorithm == "" {
		o.Algorithm = "RS256"
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = 5 * time.Minute
	}
	if o.RefreshTokenLifetime <= 0 {
		o.RefreshTokenLifetime = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Provider is a running development OpenID provider. It is an http.Handler;
// all its methods are safe for concurrent use.
type Provider struct {
	issuer    *url.URL
	op        *op.Provider
	store     *storage
	showHints bool
	handler   http.Handler
	stats     counters
}

// Stats counts requests the Provider has answered, so that tests can assert
// how often a client called it. Every request counts, successful or not.
// It also counts the logout tokens the Provider sent.
type Stats struct {
	// AuthorizationCodeGrants counts token-endpoint requests with
	// grant_type=authorization_code.
	AuthorizationCodeGrants int64
	// RefreshTokenGrants counts token-endpoint requests with
	// grant_type=refresh_token.
	RefreshTokenGrants int64
	// Revocations counts revocation-endpoint requests.
	Revocations int64
	// UserinfoRequests counts UserInfo-endpoint requests.
	UserinfoRequests int64
	// Logins counts login-form submissions that signed a user in.
	Logins int64
	// FailedLogins counts login-form submissions with a wrong username or
	// password.
	FailedLogins int64
	// BackchannelLogouts counts logout tokens that a client's back-channel
	// logout endpoint accepted with a 2xx status.
	BackchannelLogouts int64
	// BackchannelLogoutFailures counts logout tokens that were not
	// delivered: a transport error, a timeout, or another status.
	BackchannelLogoutFailures int64
}

// counters backs Stats.
type counters struct {
	codeGrants, refreshGrants, revocations, userinfo, logins, failedLogins atomic.Int64
}

// New checks opts, generates the signing key and the key that encrypts codes
// and access tokens, and returns a Provider ready to serve.
func New(opts Options) (*Provider, error) {
	opts.setDefaults()
	issuer, insecure, err := parseIssuer(opts.Issuer, opts.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyRing(opts.Algorithm)
	if err != nil {
		return nil, err
	}
	clients, err := newClients(opts.Clients, issuer.String()+loginPath)
	if err != nil {
		return nil, err
	}
	users, err := newUserDirectory(opts.Users)
	if err != nil {
		return nil, err
	}
	logout := newBackchannel(issuer.String(), keys, clients, opts.BackchannelClient)
	store := newStorage(clients, users, keys, logout, opts.AccessTokenLifetime, opts.RefreshTokenLifetime)
	store.now = opts.Now

	config := &op.Config{
		DefaultLogoutRedirectURI: issuer.String() + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes: []string{
			oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, scopeGroups, oidc.ScopeOfflineAccess,
		},
		SupportedClaims: append(append([]string(nil), op.DefaultSupportedClaims...), "groups"),
		// op only advertises these; backchannel.go sends the logout tokens.
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
		DeviceAuthorization:               deviceConfig(), // device.go
	}
	// The op package encrypts authorization codes and access tokens with
	// this key: a fresh one per Provider, so nothing outlives it.
	rand.Read(config.CryptoKey[:])

	opOpts := []op.Option{
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(opts.Algorithm)),
	}
	if insecure {
		opOpts = append(opOpts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(config, store, op.StaticIssuer(issuer.String()), opOpts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}

	p := &Provider{issuer: issuer, op: provider, store: store, showHints: opts.ShowHints}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, p.showLogin)
	mux.HandleFunc("POST "+loginPath, p.submitLogin)
	mux.HandleFunc("GET "+loggedOutPath, p.showLoggedOut)
	mux.HandleFunc("GET "+devicePath, p.showDevice)
	mux.HandleFunc("POST "+devicePath, p.submitDevice)
	mux.Handle("/", p.guard(provider))
	p.handler = mux
	if issuer.Path != "" {
		p.handler = http.StripPrefix(issuer.Path, mux)
	}
	return p, nil
}

// parseIssuer checks the issuer URL and reports whether it is plain http.
func parseIssuer(raw string, allowInsecureHTTP bool) (*url.URL, bool, error) {
	if raw == "" {
		return nil, false, fmt.Errorf("devidp: Options.Issuer is required")
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return nil, false, fmt.Errorf("devidp: issuer: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, false, fmt.Errorf("devidp: issuer %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, false, fmt.Errorf("devidp: issuer %q: no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, false, fmt.Errorf("devidp: issuer %q: no user info, query or fragment allowed", raw)
	}
	if u.Scheme == "https" {
		return u, false, nil
	}
	if !isLoopback(u.Hostname()) && !allowInsecureHTTP {
		return nil, false, fmt.Errorf("devidp: issuer %q: http is allowed only on a loopback host or with Options.AllowInsecureHTTP", raw)
	}
	return u, true, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Issuer returns the issuer identifier, as it appears in the discovery
// document and in the iss claim.
func (p *Provider) Issuer() string { return p.issuer.String() }

// ServeHTTP serves the OpenID provider's endpoints (listed in the package
// documentation) and its login page.
//
// The login page's CSRF defence is the auth request id: a random value,
// created by the authorize endpoint and valid once, that the form carries
// in a hidden field. That is enough for a development IdP without sessions;
// a production IdP would also bind the login to a browser cookie.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handler.ServeHTTP(w, r)
}

// Stats returns the request counters so far.
func (p *Provider) Stats() Stats {
	return Stats{
		AuthorizationCodeGrants: p.stats.codeGrants.Load(),
		RefreshTokenGrants:      p.stats.refreshGrants.Load(),
		Revocations:             p.stats.revocations.Load(),
		UserinfoRequests:        p.stats.userinfo.Load(),
		Logins:                  p.stats.logins.Load(),
		FailedLogins:            p.stats.failedLogins.Load(),

		BackchannelLogouts:        p.store.logout.delivered.Load(),
		BackchannelLogoutFailures: p.store.logout.failed.Load(),
	}
}

// RotateKeys makes a new signing key (of the same algorithm, with a new key
// id) the one that signs from now on. Earlier keys stay in the JWKS, so
// tokens they signed still verify.
func (p *Provider) RotateKeys() error {
	return p.store.keys.rotate()
}

// guard wraps the op package's handler: it counts token, revocation and
// UserInfo requests, and refuses a client that authenticates at the token or
// revocation endpoint with another method than its own (op accepts either).
func (p *Provider) guard(next http.Handler) http.Handler {
	token := p.op.TokenEndpoint().Relative()
	revocation := p.op.RevocationEndpoint().Relative()
	userinfo := p.op.UserinfoEndpoint().Relative()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case token:
			// Parsing here leaves r.Form for op, which parses only once.
			if err := r.ParseForm(); err == nil {
				switch oidc.GrantType(r.Form.Get("grant_type")) {
				case oidc.GrantTypeCode:
					p.stats.codeGrants.Add(1)
				case oidc.GrantTypeRefreshToken:
					p.stats.refreshGrants.Add(1)
				}
				if err := p.store.clients.checkAuthMethod(r); err != nil {
					op.RequestError(w, r, err, nil)
					return
				}
			}
		case revocation:
			p.stats.revocations.Add(1)
			if err := r.ParseForm(); err == nil {
				if err := p.store.clients.checkAuthMethod(r); err != nil {
					op.RevocationRequestError(w, r, err)
					return
				}
			}
		case userinfo:
			p.stats.userinfo.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}
