package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Server. BaseURI is required; every other field has a
// default, given on the field.
type Config struct {
	// BaseURI is the server's external origin as browsers see it, e.g.
	// https://app.example.com. POSTs must come from this origin, and
	// return_to may only lead back to it.
	BaseURI string
	// SigninSuccess is where a login without return_to lands. Default "/".
	SigninSuccess string
	// SignoutSuccess is where sign-out redirects. Default "/".
	SignoutSuccess string
	// SignoutWebhook, when set, receives a JSON POST each time a session
	// ends: at sign-out, by back-channel logout, when the IdP refuses a
	// refresh, and when a reload removed its strategy (events.go).
	SignoutWebhook string
	// SignoutWebhookSecret, when set, signs each POST: the header
	// Authflow-Signature: t=UNIX,v1=HEX, HEX being the HMAC-SHA256 of
	// "UNIX.BODY" under this secret.
	SignoutWebhookSecret string
	// WebhookAttempts bounds the webhook deliveries per sign-out. Default 3.
	WebhookAttempts int

	// Store keeps session records, the login spent-list and key, and
	// logout-token ids, shared by every instance of a deployment:
	// redisstore.Store for several instances. Default: a store.Memory of
	// this Server's own, closed by Close.
	Store Store
	// SessionLifetime is the absolute lifetime of a session, on Now.
	// Default 24h.
	SessionLifetime time.Duration
	// IdleTimeout ends a session unused for this long, on Now (use is
	// recorded at most every tenth of it, so a session may end up to a
	// tenth early). Default 0: none.
	IdleTimeout time.Duration
	// CookieName names the session cookie. Default "authflow_session".
	// Unless InsecureCookies is set, the browser sees it with the __Host-
	// prefix ("__Host-authflow_session"), as every authflow cookie.
	CookieName string
	// InsecureCookies drops the Secure attribute and the __Host- cookie-name
	// prefix, for plain-http development only (the cookie.secure=false
	// setting).
	InsecureCookies bool
	// RefreshSkew refreshes an access token this long before it expires
	// (a token that lives shorter than twice this, when half its life is
	// gone). Default 30s.
	RefreshSkew time.Duration
	// RefreshInterval is the least time between two refreshes of one
	// session, forced ones (POST /auth/refresh) included. Default 5s.
	RefreshInterval time.Duration
	// LoginTimeout bounds the time between the redirect to the IdP and the
	// callback. Default 10m.
	LoginTimeout time.Duration
	// LoginKey, 32 bytes, is the AES-256-GCM key that seals pending logins
	// into their login cookies. Every instance that shares a Store must
	// share it. Default: a random key minted once in the Store (under
	// "login-key", rotated every 30 days) and read by every instance.
	LoginKey []byte

	// AppName is the application's name, shown on every page ("Sign in to
	// AppName"). Default "": pages say "Sign in".
	AppName string
	// LogoURL is an image shown above every page's title: an https URL, a
	// path on this server or a data:image URL; the pages' Content-Security-
	// Policy allows that source for images. Default "": no logo.
	LogoURL string
	// TemplatesDir names a directory whose templates replace the embedded
	// ones file by file (PageFiles lists the names; docs/templates.md the
	// data each receives). A file that is missing a template, does not
	// parse or does not render is an error of New naming it. Default "":
	// the embedded pages.
	TemplatesDir string

	// UpstreamJWT signs identity for the services behind authflow: the
	// X-Auth-Token header of /auth/verify, GET /auth/token and
	// /.well-known/jwks.json (docs/api-tokens.md). Default: off.
	UpstreamJWT UpstreamJWT

	// Logger receives structured logs; never a token or secret. Default
	// slog.Default().
	Logger *slog.Logger
	// HTTPClient makes the webhook calls. Default: a client with a 5s timeout.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Observer receives login, refresh and verify outcomes, for metrics.
	// Default: none.
	Observer Observer
}

func (c *Config) setDefaults() error {
	if c.BaseURI == "" {
		return errors.New("server: Config.BaseURI is required")
	}
	u, err := url.Parse(c.BaseURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server: base URI %q: want an absolute http(s) URL like https://app.example.com", c.BaseURI)
	}
	c.BaseURI = strings.TrimRight(c.BaseURI, "/")
	if c.SigninSuccess == "" {
		c.SigninSuccess = "/"
	}
	if c.SignoutSuccess == "" {
		c.SignoutSuccess = "/"
	}
	if c.WebhookAttempts <= 0 {
		c.WebhookAttempts = 3
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 24 * time.Hour
	}
	if c.CookieName == "" {
		c.CookieName = "authflow_session"
	}
	if c.RefreshSkew <= 0 {
		c.RefreshSkew = 30 * time.Second
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = 5 * time.Second
	}
	if c.LoginTimeout <= 0 {
		c.LoginTimeout = 10 * time.Minute
	}
	if n := len(c.LoginKey); n != 0 && n != 32 {
		return fmt.Errorf("server: Config.LoginKey has %d bytes, want 32 (or none)", n)
	}
	if c.UpstreamJWT.Enabled {
		if err := c.UpstreamJWT.setDefaults(c.BaseURI); err != nil {
			return err
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	return nil
}
