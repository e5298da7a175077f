package strategies

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Strategy is one strategy as written: after the merge with its built-in
// default, before compilation. Templates are kept as written (with their
// ${...} placeholders). Its zero value is the safe one: PKCE, a nonce and a
// verified ID token are on unless an Insecure field turns them off.
//
// A Strategy is a description only: package engine runs a Plan, which only
// Load, Parse and Compile make, after every check.
type Strategy struct {
	// Name is the strategy's key in the file; it appears in routes
	// (/auth/NAME/login).
	Name string
	// Source is the file the strategy came from ("builtin" for the catalogue).
	Source string
	// Builtin reports whether a catalogue default of the same name was merged in.
	Builtin bool
	// Extends names the built-in merged in: the file's "extends", else the
	// strategy's own name when a built-in has it; "" when Builtin is false.
	// Only the loader sets it: Compile merges nothing.
	Extends string
	// Overridden lists the keys the user's file set over the built-in default.
	Overridden []string

	Label        string // display name; default: Name
	AuthURI      string // authorize URL template
	ClientID     string
	ClientSecret string
	BaseURI      string // default: the file's base_uri, else the server's
	RedirectPath string // default: /auth/NAME/callback
	Scope        string
	GrantType    string // default: authorization_code
	JWTKey       string // session key of the user object; default "user"
	LogoutURI    string // RP-initiated logout URL template; empty: none
	Docs         string // the provider's documentation (a URL), listed by authflow providers; no template
	// Notes ("notes") are plain sentences authflow explain prints under the
	// strategy's header: what the provider needs set up for the built-in
	// to work (a claim mapper, an optional claim). Documentation only: no
	// template, never sent.
	Notes []string
	// DeviceURI is the RFC 8628 device authorization endpoint (template);
	// empty: no device login. See GrantDeviceCode.
	DeviceURI string

	// InsecureNoPKCE ("pkce": false) sends no PKCE S256 code challenge
	// (RFC 7636). Only for an identity provider that refuses one; with no
	// nonce either, nothing binds the code to the browser (validate warns).
	InsecureNoPKCE bool
	// InsecureNoNonce ("nonce": false) sends no nonce and checks none in
	// the ID token, even when the scope holds "openid". Only for an
	// identity provider whose ID tokens do not echo it.
	InsecureNoNonce bool
	// BackchannelLogout enables the OIDC back-channel logout receiver.
	BackchannelLogout bool
	// ResponseMode ("response_mode") is how the IdP returns the callback's
	// parameters: "" or ResponseModeQuery in the redirect's query (GET),
	// ResponseModeFormPost in a form the browser POSTs (OAuth 2.0 Form
	// Post Response Mode; Apple).
	ResponseMode string
	// RefreshUserinfo ("refresh_userinfo") runs the userinfo step again
	// after each refresh, with the new access token, and derives the
	// claims anew.
	RefreshUserinfo bool
	// LoginParams ("login_params") allow-lists query parameters of
	// GET /auth/NAME/login: parameter name → a regular expression the
	// whole value must match. The values are ${login.NAME}.
	LoginParams map[string]string

	// ClientKey (client_key) is the client's private key, PEM (PKCS #8,
	// PKCS #1 or SEC 1), read from the environment ("${env.NAME}"): it
	// signs the client assertions of client_auth "private_key_jwt" and
	// the SignedSecret. Its type decides the algorithm: RSA RS256, P-256
	// ES256, P-384 ES384, P-521 ES512, Ed25519 EdDSA.
	ClientKey string
	// ClientKeyID (client_key_id) is the kid header of what ClientKey
	// signs; empty: no kid.
	ClientKeyID string
	// ClientAssertionAudience (client_assertion_audience) is the aud of
	// private_key_jwt assertions; empty: the token endpoint (the token
	// step's URL). Some servers want their issuer instead.
	ClientAssertionAudience string
	// SignedSecret (signed_client_secret), when set, makes the client
	// secret a JWT the engine signs with ClientKey (Sign in with Apple's
	// client_secret): ${client_secret} and client_auth then send it, and
	// client_secret is not set.
	SignedSecret *SignedSecret
	// AllowedTenants (allowed_tenants) lists the tenants a multi-tenant
	// issuer (TenantPlaceholder) accepts, by tid; empty: every tenant.
	AllowedTenants string

	// Claims maps session claim names to gjson paths into the user object.
	Claims map[string]string
	// Bearer ("bearer": true or an object) makes the strategy judge API
	// clients' access tokens (Authorization: Bearer); nil: it does not.
	Bearer *Bearer
	// RequiredScopes (required_scopes) are scopes every bearer token of
	// the strategy must hold.
	RequiredScopes []string
	// UpstreamClaims (upstream_claims) maps claim names of the upstream
	// JWT authflow signs to gjson paths into the user object.
	UpstreamClaims map[string]string
	// Custom holds the custom variables: every string key that is not a known
	// key, by name.
	Custom map[string]string
	// Steps are run in order after the callback (refresh and the revoke
	// steps excepted).
	Steps []Step
}

// Step is one named step of a strategy: an HTTP call or a JWT decode.
type Step struct {
	Name string

	// HTTP step fields.
	URI     string
	Method  string            // default GET
	Headers map[string]string // config.headers
	Auth    *BasicAuth        // config.auth
	Form    map[string]string // urlencoded body
	JSON    any               // JSON body; string leaves are templates
	// ClientAuth (client_auth) makes the engine authenticate the client
	// itself, with the strategy's client_id and client_secret: one of
	// ClientAuthBasic, ClientAuthPost, ClientAuthNone, or
	// ClientAuthDiscovery (what the issuer's discovery document supports).
	// Default "": the step's own form and config.auth say everything.
	ClientAuth string
	// ErrorPath (error_path) is a gjson path naming an error code in a 2xx
	// answer, for IdPs that answer errors with 200 ({"errcode": 40001}):
	// a value there other than 0, "", false or null fails the step. An
	// "error" member fails it whatever ErrorPath says. Default: none.
	ErrorPath string

	// Decode step fields.
	Decode     string   // template naming the JWT
	JWKSURI    string   // jwks_uri
	Issuer     string   // expected iss; also where discovery is read
	Audience   string   // expected aud; default: client_id
	Algorithms []string // allowed algorithms; default DefaultAlgorithms()
	// InsecureSkipVerify ("verify": false) decodes the JWT without any
	// check: no signature, issuer, audience or expiry. For debugging only;
	// validate warns.
	InsecureSkipVerify bool
}

// Client authentication methods a step's client_auth may name (RFC 6749
// §2.3.1, OpenID Connect Core 1.0 §9), and "discovery": the method follows
// the discovery document's token_endpoint_auth_methods_supported:
// client_secret_basic when it lists it or lists nothing, else
// client_secret_post; none when the strategy has no client_secret (a
// public client).
const (
	ClientAuthBasic     = "client_secret_basic" // HTTP Basic, both parts form-encoded
	ClientAuthPost      = "client_secret_post"  // client_id and client_secret in the form
	ClientAuthNone      = "none"                // client_id in the form: a public client
	ClientAuthDiscovery = "discovery"
	// ClientAuthPrivateKeyJWT sends a JWT signed with client_key as
	// client_assertion (RFC 7523 §2.2, OpenID Connect Core 1.0 §9): iss
	// and sub the client_id, aud the token endpoint, a unique jti, a
	// short exp.
	ClientAuthPrivateKeyJWT = "private_key_jwt"
)

// SignedSecret describes a client secret that is a JWT the engine signs
// with the strategy's client_key, minted when first needed and again when
// half its lifetime has passed. Its claims are iss, sub, aud, iat and exp;
// its header alg (from the key) and kid (client_key_id).
type SignedSecret struct {
	Issuer   string // iss, a template (variables, ${env.NAME}); required
	Subject  string // sub; default ${client_id}
	Audience string // aud; required
	Lifetime string // exp - iat, a Go duration ("1h"); default 1h, at most MaxSignedSecretLifetime
}

// MaxSignedSecretLifetime bounds a signed client secret's lifetime: Apple
// takes one whose exp is at most 15777000 seconds (six months) after iat.
const MaxSignedSecretLifetime = 15777000 * time.Second

// DefaultSignedSecretLifetime is a signed client secret's lifetime when
// the strategy gives none.
const DefaultSignedSecretLifetime = time.Hour

// BasicAuth is HTTP Basic client authentication (client_secret_basic).
type BasicAuth struct {
	Username string
	Password string
}

// IsDecode reports whether the step decodes a JWT rather than calling a URI.
func (s *Step) IsDecode() bool { return s.Decode != "" }

// Special step names.
const (
	StepToken    = "token"    // the code exchange; its result holds the tokens
	StepJWT      = "jwt"      // default name of the step whose result is the user object
	StepUserinfo = "userinfo" // merged into the user object
	StepRefresh  = "refresh"  // run when the access token expires, never at login
	StepRevoke   = "revoke"   // run at sign-out, never at login
	// StepIntrospect checks an opaque bearer token (RFC 7662), never at login.
	StepIntrospect = "introspect"
	// StepRevokePrefix starts the name of further revoke steps
	// ("revoke_access_token"): every step named revoke or revoke_… runs
	// at sign-out, in file order, each merged by its own name.
	StepRevokePrefix = "revoke_"
)

// IsRevokeStep reports whether a step of that name is a revoke step: run
// at sign-out (with the session's tokens), never at login.
func IsRevokeStep(name string) bool {
	return name == StepRevoke || (strings.HasPrefix(name, StepRevokePrefix) && len(name) > len(StepRevokePrefix))
}

// Response modes a strategy's response_mode may name.
const (
	ResponseModeQuery    = "query"
	ResponseModeFormPost = "form_post"
)

// ReservedName is the one name no strategy may take.
const ReservedName = "jwt"

// DefaultJWTKey is the session key of the user object.
const DefaultJWTKey = "user"

// defaultAlgorithms and allowedAlgorithms back the functions below, which
// hand out copies.
var (
	defaultAlgorithms = []string{"RS256", "ES256"}
	allowedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// DefaultAlgorithms returns the JWT algorithms a decode step accepts when
// its "algorithms" field is absent: RS256 and ES256.
func DefaultAlgorithms() []string { return slices.Clone(defaultAlgorithms) }

// AllowedAlgorithms returns the asymmetric algorithms a decode step may
// list. "none" and the HMAC family are never allowed: an ID token verified
// with a public key as an HMAC secret is the classic algorithm-confusion
// attack.
func AllowedAlgorithms() []string { return slices.Clone(allowedAlgorithms) }

// UserStep returns the name of the step whose result is the user object:
// the strategy's jwt_key when a step has that name, else "jwt".
func (s *Strategy) UserStep() string {
	if s.JWTKey != "" && s.JWTKey != DefaultJWTKey {
		for _, st := range s.Steps {
			if st.Name == s.JWTKey {
				return s.JWTKey
			}
		}
	}
	return StepJWT
}

// Step returns the step of that name, or nil.
func (s *Strategy) Step(name string) *Step {
	for i := range s.Steps {
		if s.Steps[i].Name == name {
			return &s.Steps[i]
		}
	}
	return nil
}

// LoginSteps returns the steps run after the callback, in order: every step
// but refresh, revoke and introspect.
func (s *Strategy) LoginSteps() []Step {
	var out []Step
	for _, st := range s.Steps {
		if isLoginStep(st.Name) {
			out = append(out, st)
		}
	}
	return out
}

func isLoginStep(name string) bool {
	return name != StepRefresh && !IsRevokeStep(name) && name != StepIntrospect
}

// Variables returns the strategy's interpolation variables: the known string
// keys and the custom variables, by name, as written (they may hold
// ${env.NAME} or other variables).
func (s *Strategy) Variables() map[string]string {
	v := make(map[string]string, len(s.Custom)+8)
	for k, val := range s.Custom {
		v[k] = val
	}
	v["client_id"] = s.ClientID
	v["client_secret"] = s.ClientSecret
	v["base_uri"] = s.BaseURI
	v["redirect_path"] = s.RedirectPath
	v["scope"] = s.Scope
	v["grant_type"] = s.GrantType
	v["jwt_key"] = s.JWTKey
	v["label"] = s.Label
	return v
}

// Required returns the variables a user must set for this strategy: those
// left empty (the catalogue's way of saying "yours to fill in"), sorted.
func (s *Strategy) Required() []string {
	var out []string
	vars := s.Variables()
	for _, k := range sortedKeys(vars) {
		if k == "client_secret" && s.SignedSecret != nil {
			continue // the engine signs it
		}
		if vars[k] == "" && k != "base_uri" && k != "jwt_key" && k != "grant_type" {
			out = append(out, k)
		}
	}
	return out
}

// clone returns a deep copy of s.
func (s *Strategy) clone() *Strategy {
	c := *s
	c.Overridden = slices.Clone(s.Overridden)
	c.Claims = maps.Clone(s.Claims)
	c.RequiredScopes = slices.Clone(s.RequiredScopes)
	c.UpstreamClaims = maps.Clone(s.UpstreamClaims)
	if s.Bearer != nil {
		b := *s.Bearer
		c.Bearer = &b
	}
	c.Custom = maps.Clone(s.Custom)
	if s.SignedSecret != nil {
		ss := *s.SignedSecret
		c.SignedSecret = &ss
	}
	c.LoginParams = maps.Clone(s.LoginParams)
	c.Steps = make([]Step, len(s.Steps))
	for i, st := range s.Steps {
		c.Steps[i] = st.clone()
	}
	if s.Steps == nil {
		c.Steps = nil
	}
	return &c
}

// clone returns a deep copy of st.
func (st Step) clone() Step {
	c := st
	c.Headers = maps.Clone(st.Headers)
	c.Form = maps.Clone(st.Form)
	c.Algorithms = slices.Clone(st.Algorithms)
	c.JSON = cloneJSON(st.JSON)
	if st.Auth != nil {
		a := *st.Auth
		c.Auth = &a
	}
	return c
}

// cloneJSON deep-copies a decoded JSON value.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = cloneJSON(e)
		}
		return a
	default:
		return v
	}
}
