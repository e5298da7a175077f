package engine

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidToken: a JWT failed verification (signature, algorithm, iss,
	// aud, exp/nbf/iat, nonce). The jwt/v5 cause is wrapped too, so
	// errors.Is(err, jwt.ErrTokenExpired) works.
	ErrInvalidToken = errors.New("invalid token")
	// ErrNonceMismatch: the ID token's nonce is not the one this login sent.
	ErrNonceMismatch = errors.New("nonce mismatch")
	// ErrSubjectMismatch: the userinfo answer names another subject than the ID token.
	ErrSubjectMismatch = errors.New("userinfo subject differs from the ID token's")
	// ErrUnreachable: the IdP could not be reached or did not answer in time.
	ErrUnreachable = errors.New("identity provider unreachable")
	// ErrResponseTooLarge: an answer exceeded Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrBadResponse: an answer was not JSON or form-encoded, or lacked a
	// field the engine needs (access_token).
	ErrBadResponse = errors.New("malformed response")
	// ErrNoSubject: the login ended without a subject: neither the mapped
	// sub claim nor the user object's sub is a non-empty string or an
	// integer. It comes with ErrBadResponse.
	ErrNoSubject = errors.New("no subject")
	// ErrMissingValue: a template's placeholder had no value at run time.
	ErrMissingValue = errors.New("missing value")
	// ErrTenantNotAllowed: a multi-tenant issuer's token names a tenant
	// (tid) that allowed_tenants does not list. It comes with
	// ErrInvalidToken.
	ErrTenantNotAllowed = errors.New("tenant not allowed")
	// ErrSubjectChanged: a refresh named another user than the session's:
	// the refresh answer's ID token, or, with refresh_userinfo, the claims
	// derived anew. The session must end.
	ErrSubjectChanged = errors.New("the refreshed identity's subject differs from the session's")
	// ErrNoRefreshToken: Refresh was asked for without a refresh token or refresh step.
	ErrNoRefreshToken = errors.New("no refresh token or refresh step")
)

// Names of what a StepError or a ProviderError reports besides the
// strategy's own steps.
const (
	// StepAuthorize is the authorize redirect and the callback's answer.
	StepAuthorize = "authorize"
	// StepLogout is the RP-initiated logout URL.
	StepLogout = "logout"
	// StepDevice is the device authorization request (RFC 8628 §3.1).
	StepDevice = "device"
)

// ErrorCode is an OAuth 2.0 error code an identity provider answers with
// (RFC 6749 §4.1.2.1 and §5.2), or another code a provider uses
// (bad_verification_code, Slack's invalid_code, a WeChat errcode).
type ErrorCode string

// The error codes of RFC 6749 (§4.1.2.1 at the callback, §5.2 from the
// token endpoint) and RFC 7009 §2.2.1.
const (
	CodeInvalidRequest          ErrorCode = "invalid_request"
	CodeUnauthorizedClient      ErrorCode = "unauthorized_client"
	CodeAccessDenied            ErrorCode = "access_denied"
	CodeUnsupportedResponseType ErrorCode = "unsupported_response_type"
	CodeInvalidScope            ErrorCode = "invalid_scope"
	CodeServerError             ErrorCode = "server_error"
	CodeTemporarilyUnavailable  ErrorCode = "temporarily_unavailable"
	CodeInvalidClient           ErrorCode = "invalid_client"
	CodeInvalidGrant            ErrorCode = "invalid_grant"
	CodeUnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	CodeUnsupportedTokenType    ErrorCode = "unsupported_token_type"
)

// The token endpoint's answers to a device login's polls (RFC 8628 §3.5).
const (
	CodeAuthorizationPending ErrorCode = "authorization_pending"
	CodeSlowDown             ErrorCode = "slow_down"
	CodeExpiredToken         ErrorCode = "expired_token"
)

// ProviderError is an identity provider's refusal: an OAuth 2.0 error
// answer from an endpoint (RFC 6749 §5.2), any other non-2xx answer, or an
// error returned to the callback (RFC 6749 §4.1.2.1, Step "authorize").
// Code and Description come from the IdP; show Code-based messages to users,
// never Description.
type ProviderError struct {
	Step        string    // StepAuthorize for an error at the callback
	StatusCode  int       // HTTP status; 0 for the callback
	Code        ErrorCode // e.g. CodeInvalidGrant, CodeInvalidClient, CodeAccessDenied
	Description string    // error_description, for the log
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("identity provider refused %s", e.Step)
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	if e.Code != "" {
		s += ": " + string(e.Code)
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// StepError wraps any failure of a step with the strategy and step names.
type StepError struct {
	Strategy string
	Step     string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("engine: strategy %q: step %q: %v", e.Strategy, e.Step, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// tokenError wraps a verification failure so that it matches both
// ErrInvalidToken and its specific cause.
type tokenError struct{ cause error }

func (e *tokenError) Error() string   { return "invalid token: " + e.cause.Error() }
func (e *tokenError) Unwrap() []error { return []error{ErrInvalidToken, e.cause} }

func invalidToken(cause error) error { return &tokenError{cause} }
