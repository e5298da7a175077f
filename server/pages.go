package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
)

// failure is what a user is told about an error: never its cause, which
// goes to the log under Ref.
type failure struct {
	Status  int
	Kind    string // short machine name, for logs and metrics
	Title   string
	Message string
	Retry   string // "Try again" link; "" for none
	Ref     string
}

// errLoginUnknown: the callback's state names no pending login (expired,
// used already, or started in another browser).
var errLoginUnknown = errors.New("no pending login for this state (expired, already used, or another browser)")

// classify maps an engine or store error to what the user is told. The
// IdP's error_description is never shown: it is for the log.
func classify(err error) failure {
	var pe *engine.ProviderError
	isPE := errors.As(err, &pe)
	switch {
	case errors.Is(err, errLoginUnknown), errors.Is(err, engine.ErrStateMismatch):
		return failure{Status: http.StatusBadRequest, Kind: "state_mismatch", Title: "This sign-in link has expired",
			Message: "The sign-in took too long, was already completed, or was started in another browser. Please start again."}
	case errors.Is(err, engine.ErrLoginParam):
		return failure{Status: http.StatusBadRequest, Kind: "bad_login_param", Title: "This sign-in link is not valid",
			Message: "The sign-in link carries a parameter this site does not accept, or a value it does not allow. Please start again from the sign-in page."}
	case errors.Is(err, errFormPost):
		return failure{Status: http.StatusBadRequest, Kind: "bad_callback", Title: "Sign-in did not complete",
			Message: "The identity provider's answer could not be read. Please start again."}
	case errors.Is(err, engine.ErrNoCode):
		return failure{Status: http.StatusBadRequest, Kind: "no_code", Title: "Sign-in did not complete",
			Message: "The identity provider sent you back without a sign-in code. Please start again."}
	case isPE && pe.Code == "access_denied":
		return failure{Status: http.StatusForbidden, Kind: "access_denied", Title: "Sign-in was cancelled",
			Message: "You, or the identity provider, declined the sign-in. If this was a mistake, start again."}
	case isPE && redirectMismatch(pe):
		return failure{Status: http.StatusBadGateway, Kind: "redirect_uri_mismatch", Title: "Sign-in is misconfigured",
			Message: "The identity provider does not accept this application's callback address (redirect URI mismatch). An administrator must register it at the provider."}
	case isPE && (pe.Code == "invalid_grant" || pe.Code == "bad_verification_code"):
		return failure{Status: http.StatusBadRequest, Kind: "invalid_grant", Title: "The sign-in code has expired",
			Message: "The code from the identity provider expired or was already used. Please sign in again."}
	case isPE && (pe.Code == "invalid_client" || pe.Code == "unauthorized_client" || pe.Code == "incorrect_client_credentials"):
		return failure{Status: http.StatusBadGateway, Kind: "invalid_client", Title: "Sign-in is misconfigured",
			Message: "The identity provider rejected this application's credentials. An administrator must check the client id and secret."}
	case isPE && pe.Code == "invalid_scope":
		return failure{Status: http.StatusBadGateway, Kind: "invalid_scope", Title: "Sign-in is misconfigured",
			Message: "The identity provider does not allow the requested scope. An administrator must check the strategy's scope."}
	case errors.Is(err, engine.ErrUnreachable):
		return failure{Status: http.StatusGatewayTimeout, Kind: "unreachable", Title: "The identity provider is not answering",
			Message: "The sign-in service could not be reached or was too slow. Please try again in a moment."}
	case errors.Is(err, engine.ErrInvalidToken), errors.Is(err, engine.ErrSubjectMismatch):
		return failure{Status: http.StatusBadGateway, Kind: "invalid_token", Title: "Sign-in could not be verified",
			Message: "The identity provider's answer failed verification, so you were not signed in. Please try again."}
	case isPE:
		return failure{Status: http.StatusBadGateway, Kind: "provider_error", Title: "The identity provider refused the sign-in",
			Message: "The sign-in service returned an error. Please try again; if it persists, contact your administrator."}
	case errors.Is(err, engine.ErrResponseTooLarge), errors.Is(err, engine.ErrBadResponse):
		return failure{Status: http.StatusBadGateway, Kind: "bad_response", Title: "Sign-in failed",
			Message: "The identity provider sent an answer authflow could not use."}
	case errors.Is(err, store.ErrNotFound):
		return failure{Status: http.StatusBadRequest, Kind: "state_mismatch", Title: "This sign-in link has expired",
			Message: "Please start again."}
	default:
		return failure{Status: http.StatusInternalServerError, Kind: "internal", Title: "Sign-in failed",
			Message: "Something went wrong on our side. Please try again."}
	}
}

func redirectMismatch(pe *engine.ProviderError) bool {
	if pe.Code == "redirect_uri_mismatch" {
		return true
	}
	d := strings.ToLower(pe.Description)
	return (pe.Code == "invalid_grant" || pe.Code == "invalid_request") &&
		(strings.Contains(d, "redirect_uri") || strings.Contains(d, "redirect uri"))
}

// newRef returns a short reference id for an error page and its log entry.
func newRef() string {
	var b [5]byte
	rand.Read(b[:])
	return base32.StdEncoding.EncodeToString(b[:])
}

// fail logs err under a fresh reference id and answers with the friendly
// page for it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, strategy string, err error) {
	f := classify(err)
	f.Ref = newRef()
	attrs := []any{"ref", f.Ref, "outcome", f.Kind, "status", f.Status, "error", err.Error()}
	if strategy != "" {
		attrs = append(attrs, "strategy", strategy)
		f.Retry = "/auth/" + url.PathEscape(strategy) + "/login"
	} else {
		f.Retry = "/auth/login"
	}
	var se *engine.StepError
	if errors.As(err, &se) {
		attrs = append(attrs, "step", se.Step)
	}
	level := s.log.Warn
	if f.Status >= 500 {
		level = s.log.Error
	}
	level("login failed", attrs...)
	if strategy != "" {
		s.cfg.Observer.Login(strategy, Outcome(f.Kind))
	}
	s.render(w, f.Status, "error", f)
}

// render writes a page from templates/.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, name, data); err != nil {
		s.log.Error("rendering page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h["Content-Security-Policy"] = s.csp
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
