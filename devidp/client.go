package devidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Client is an OAuth 2.0 client registered with the Provider.
type Client struct {
	// ID is the client_id. Required, unique.
	ID string
	// Secret authenticates a confidential client. Empty makes a public
	// client: it authenticates with "none" and must use PKCE (S256).
	Secret string
	// AuthMethod is how a confidential client authenticates at the token and
	// revocation endpoints: "client_secret_basic" (the default) or
	// "client_secret_post". The other method is refused with invalid_client.
	// For a public client leave it empty (or "none").
	AuthMethod string
	// RedirectURIs are the allowed redirect_uri values, compared exactly.
	// http URIs are allowed (this is a development IdP). At least one.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the allowed post_logout_redirect_uri values
	// of the end_session endpoint, compared exactly.
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI is the client's back-channel logout endpoint
	// (backchannel_logout_uri, OpenID Connect Back-Channel Logout 1.0 §2.2):
	// the URL that makes the RP log itself out when the Provider POSTs it a
	// logout token. It must be an absolute URL without fragment; it may have
	// a port, path and query; http is allowed, as for redirect URIs. When an
	// OP session in which the client received tokens ends (RP-initiated
	// logout at end_session, or Provider.EndSessions), the Provider POSTs it
	// a form with logout_token. Empty: the client gets no logout tokens.
	BackchannelLogoutURI string
	// BackchannelLogoutSessionRequired is backchannel_logout_session_required
	// (§2.2): whether the RP requires the sid (session ID) claim in the
	// logout token, to identify its session with the OP; default false. It
	// may be set only with a BackchannelLogoutURI. The
	// Provider puts sid in every ID token and every logout token, so it is
	// met either way and the setting changes nothing.
	BackchannelLogoutSessionRequired bool
	// Native makes a native application (RFC 8252), a public client
	// without a Secret (§8.4): a loopback redirect URI
	// (http://127.0.0.1/callback) then matches at any port (§7.3), as a
	// command-line login's listener needs. Default false.
	Native bool
	// AccessTokenJWT gives the client JWT access tokens (RFC 9068 style,
	// signed with the ID tokens' key; accesstoken.go) instead of opaque
	// ones. Either kind can be introspected. Default false: opaque.
	AccessTokenJWT bool
}

// client is a registered Client as the op package sees it.
type client struct {
	id                     string
	secretHash             [sha256.Size]byte // of the secret; zero for a public client
	method                 oidc.AuthMethod
	redirectURIs           []string
	postLogoutRedirectURIs []string
	loginURL               string // the login page, without the auth request id
	backchannelLogoutURI   string // "": no back-channel logout
	native                 bool
	accessTokenJWT         bool
}

var _ op.Client = (*client)(nil)

// clientRegistry holds the registered clients. It does not change after New.
type clientRegistry map[string]*client

// newClients checks and copies the configured clients.
func newClients(configured []Client, loginURL string) (clientRegistry, error) {
	reg := make(clientRegistry, len(configured))
	for i, c := range configured {
		if c.ID == "" {
			return nil, fmt.Errorf("devidp: client %d: ID is required", i)
		}
		if _, dup := reg[c.ID]; dup {
			return nil, fmt.Errorf("devidp: client %q: registered twice", c.ID)
		}
		method, err := authMethod(c)
		if err != nil {
			return nil, err
		}
		if c.Native && c.Secret != "" {
			return nil, fmt.Errorf("devidp: client %q: a Native client is public (RFC 8252 §8.4): it takes no Secret", c.ID)
		}
		if len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("devidp: client %q: at least one redirect URI is required", c.ID)
		}
		for _, uris := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs} {
			for _, raw := range uris {
				if u, err := url.Parse(raw); err != nil || !u.IsAbs() || u.Fragment != "" {
					return nil, fmt.Errorf("devidp: client %q: redirect URI %q must be an absolute URL without fragment", c.ID, raw)
				}
			}
		}
		if raw := c.BackchannelLogoutURI; raw != "" {
			if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				return nil, fmt.Errorf("devidp: client %q: back-channel logout URI %q must be an absolute http or https URL without fragment", c.ID, raw)
			}
		}
		if c.BackchannelLogoutSessionRequired && c.BackchannelLogoutURI == "" {
			return nil, fmt.Errorf("devidp: client %q: BackchannelLogoutSessionRequired needs a BackchannelLogoutURI", c.ID)
		}
		cl := &client{
			id:                     c.ID,
			method:                 method,
			redirectURIs:           append([]string(nil), c.RedirectURIs...),
			postLogoutRedirectURIs: append([]string(nil), c.PostLogoutRedirectURIs...),
			loginURL:               loginURL,
			backchannelLogoutURI:   c.BackchannelLogoutURI,
			native:                 c.Native,
			accessTokenJWT:         c.AccessTokenJWT,
		}
		if c.Secret != "" {
			cl.secretHash = sha256.Sum256([]byte(c.Secret))
		}
		reg[c.ID] = cl
	}
	return reg, nil
}

// authMethod resolves a client's token-endpoint authentication method.
func authMethod(c Client) (oidc.AuthMethod, error) {
	m := oidc.AuthMethod(c.AuthMethod)
	switch {
	case c.Secret == "" && (m == "" || m == oidc.AuthMethodNone):
		return oidc.AuthMethodNone, nil
	case c.Secret == "":
		return "", fmt.Errorf("devidp: client %q: auth method %q needs a Secret", c.ID, c.AuthMethod)
	case m == "":
		return oidc.AuthMethodBasic, nil
	case m == oidc.AuthMethodBasic || m == oidc.AuthMethodPost:
		return m, nil
	default:
		return "", fmt.Errorf("devidp: client %q: auth method %q: want %q or %q (or no Secret for a public client)",
			c.ID, c.AuthMethod, oidc.AuthMethodBasic, oidc.AuthMethodPost)
	}
}

// authorize checks a client's secret in constant time.
func (reg clientRegistry) authorize(clientID, secret string) error {
	c, ok := reg[clientID]
	if !ok {
		return fmt.Errorf("devidp: unknown client %q", clientID)
	}
	got := sha256.Sum256([]byte(secret))
	if c.method == oidc.AuthMethodNone || subtle.ConstantTimeCompare(got[:], c.secretHash[:]) != 1 {
		return fmt.Errorf("devidp: client %q: wrong secret", clientID)
	}
	return nil
}

// checkAuthMethod refuses a request to the token or revocation endpoint
// whose client authenticates with another method than its registered one.
// The op package checks the credentials but accepts either secret method
// from any confidential client. r.Form must be parsed. Unknown clients are
// left to op, which refuses them.
func (reg clientRegistry) checkAuthMethod(r *http.Request) error {
	id, _, basic := r.BasicAuth()
	used := oidc.AuthMethodNone
	switch {
	case basic:
		used = oidc.AuthMethodBasic
		if unescaped, err := url.QueryUnescape(id); err == nil {
			id = unescaped
		}
	case r.Form.Get("client_assertion") != "":
		used = oidc.AuthMethodPrivateKeyJWT
	case r.Form.Has("client_secret"):
		used = oidc.AuthMethodPost
		id = r.Form.Get("client_id")
	default:
		id = r.Form.Get("client_id")
	}
	c, ok := reg[id]
	if !ok || used == c.method || used == oidc.AuthMethodPrivateKeyJWT {
		return nil
	}
	return oidc.ErrInvalidClient().WithDescription("client %q must authenticate with %s, not %s", id, c.method, used)
}

// GetID implements op.Client.
func (c *client) GetID() string { return c.id }

// RedirectURIs implements op.Client.
func (c *client) RedirectURIs() []string { return c.redirectURIs }

// PostLogoutRedirectURIs implements op.Client.
func (c *client) PostLogoutRedirectURIs() []string { return c.postLogoutRedirectURIs }

// ApplicationType implements op.Client: web for a confidential client,
// user agent (a browser app) for a public one.
func (c *client) ApplicationType() op.ApplicationType {
	if c.native {
		return op.ApplicationTypeNative
	}
	if c.method == oidc.AuthMethodNone {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

// AuthMethod implements op.Client.
func (c *client) AuthMethod() oidc.AuthMethod { return c.method }

// ResponseTypes implements op.Client: the code flow only.
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// GrantTypes implements op.Client: the code flow and refresh, the device
// code (device.go) and, for a confidential client, client credentials
// (clientcredentials.go).
func (c *client) GrantTypes() []oidc.GrantType {
	grants := []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
	if c.method != oidc.AuthMethodNone {
		grants = append(grants, oidc.GrantTypeClientCredentials)
	}
	return grants
}

// LoginURL implements op.Client: the Provider's own login page.
func (c *client) LoginURL(authRequestID string) string {
	return c.loginURL + "?authRequestID=" + url.QueryEscape(authRequestID)
}

// AccessTokenType implements op.Client: opaque (encrypted) access tokens,
// or JWTs for a client with AccessTokenJWT.
func (c *client) AccessTokenType() op.AccessTokenType {
	if c.accessTokenJWT {
		return op.AccessTokenTypeJWT
	}
	return op.AccessTokenTypeBearer
}

// IDTokenLifetime implements op.Client.
func (c *client) IDTokenLifetime() time.Duration { return idTokenLifetime }

// DevMode implements op.Client: http redirect URIs are allowed for every
// client type. They must still match a registered URI exactly.
func (c *client) DevMode() bool { return true }

// RestrictAdditionalIdTokenScopes implements op.Client: no restriction.
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// RestrictAdditionalAccessTokenScopes implements op.Client: no restriction.
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed implements op.Client. The op package keeps the standard
// OpenID scopes itself; of the others only groups is known.
func (c *client) IsScopeAllowed(scope string) bool { return scope == scopeGroups }

// IDTokenUserinfoClaimsAssertion implements op.Client: the ID token carries
// the profile, email and groups claims even when an access token is issued.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

// ClockSkew implements op.Client.
func (c *client) ClockSkew() time.Duration { return 0 }
