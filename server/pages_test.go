package server

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/authflow/authflow/engine"
	"github.com/golang-jwt/jwt/v5"
)

// TestClassify: each failure the issue names gets its own page and status.
func TestClassify(t *testing.T) {
	t.Parallel()
	step := func(step string, err error) error { return &engine.StepError{Strategy: "okta", Step: step, Err: err} }
	pe := func(code, desc string) error {
		return step("token", &engine.ProviderError{Step: "token", StatusCode: 400, Code: engine.ErrorCode(code), Description: desc})
	}
	tests := []struct {
		err    error
		kind   string
		status int
	}{
		{errLoginUnknown, "state_mismatch", http.StatusBadRequest},
		{step("authorize", engine.ErrStateMismatch), "state_mismatch", http.StatusBadRequest},
		{step("authorize", &engine.ProviderError{Step: "authorize", Code: "access_denied"}), "access_denied", http.StatusForbidden},
		{pe("invalid_grant", "code expired"), "invalid_grant", http.StatusBadRequest},
		{pe("invalid_client", ""), "invalid_client", http.StatusBadGateway},
		{pe("redirect_uri_mismatch", ""), "redirect_uri_mismatch", http.StatusBadGateway},
		{pe("invalid_grant", "The 'redirect_uri' does not match the redirection URI used in the authorization request."), "redirect_uri_mismatch", http.StatusBadGateway},
		{pe("invalid_scope", ""), "invalid_scope", http.StatusBadGateway},
		{step("token", fmt.Errorf("%w: POST https://idp/token: timeout", engine.ErrUnreachable)), "unreachable", http.StatusGatewayTimeout},
		{step("jwt", fmt.Errorf("wrapped: %w", errors.Join(engine.ErrInvalidToken, jwt.ErrTokenExpired))), "invalid_token", http.StatusBadGateway},
		{step("userinfo", engine.ErrSubjectMismatch), "invalid_token", http.StatusBadGateway},
		{pe("server_error", ""), "provider_error", http.StatusBadGateway},
		{errors.New("boom"), "internal", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		f := classify(tt.err)
		if f.Kind != tt.kind || f.Status != tt.status {
			t.Errorf("classify(%v) = %s %d, want %s %d", tt.err, f.Kind, f.Status, tt.kind, tt.status)
		}
		if f.Title == "" || f.Message == "" {
			t.Errorf("classify(%v): empty title or message", tt.err)
		}
	}
}
