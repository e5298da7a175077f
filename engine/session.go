package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

func (s *Strategy) sessionScope(t Tokens) *scope {
	return &scope{s: s, gen: map[string]string{
		strategies.VarRedirectURI:  s.redirectURI,
		strategies.VarAccessToken:  t.AccessToken,
		strategies.VarRefreshToken: t.RefreshToken,
		strategies.VarIDToken:      t.IDToken,
	}}
}

// Refresh runs the refresh step with the session's tokens and returns the
// new tokens. A refresh_token in the answer replaces the old one (rotation);
// without one the old one is kept. It fails with ErrNoRefreshToken when the
// strategy has no refresh step or the session no refresh token.
func (s *Strategy) Refresh(ctx context.Context, t Tokens) (Tokens, error) {
	if s.refresh == nil || t.RefreshToken == "" {
		return t, &StepError{Strategy: s.def.Name, Step: strategies.StepRefresh, Err: ErrNoRefreshToken}
	}
	start := time.Now()
	doc, err := s.runHTTP(ctx, s.refresh, s.sessionScope(t))
	s.observe(strategies.StepRefresh, start, err)
	if err != nil {
		return t, &StepError{Strategy: s.def.Name, Step: strategies.StepRefresh, Err: err}
	}
	if !gjson.GetBytes(doc, "access_token").Exists() {
		return t, &StepError{Strategy: s.def.Name, Step: strategies.StepRefresh,
			Err: fmt.Errorf("%w: refresh answer has no access_token", ErrBadResponse)}
	}
	return tokensFrom(doc, t, s.e.opts.Now()), nil
}

// Revoke runs the revoke step, when the strategy has one, with the session's
// tokens (RFC 7009). Without a revoke step it does nothing.
func (s *Strategy) Revoke(ctx context.Context, t Tokens) error {
	if s.revoke == nil {
		return nil
	}
	start := time.Now()
	_, err := s.runHTTP(ctx, s.revoke, s.sessionScope(t))
	s.observe(strategies.StepRevoke, start, err)
	if err != nil {
		return &StepError{Strategy: s.def.Name, Step: strategies.StepRevoke, Err: err}
	}
	return nil
}

// LogoutURL returns the strategy's RP-initiated logout URL with the ID
// token and the post-logout redirect filled in, or "" when it has none.
func (s *Strategy) LogoutURL(idToken, postLogoutRedirectURI string) (string, error) {
	if s.logoutURI == nil {
		return "", nil
	}
	sc := &scope{s: s, gen: map[string]string{
		strategies.VarRedirectURI:           s.redirectURI,
		strategies.VarIDToken:               idToken,
		strategies.VarPostLogoutRedirectURI: postLogoutRedirectURI,
	}}
	u, err := s.logoutURI.Execute(interp.URI, sc.lookup)
	if err != nil {
		return "", &StepError{Strategy: s.def.Name, Step: "logout", Err: wrapExec(err)}
	}
	return u, nil
}
