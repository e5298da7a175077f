package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// Refresh runs the refresh step with the session's tokens and returns the
// new tokens. A refresh_token in the answer replaces the old one (rotation);
// without one the old one is kept. It fails with ErrNoRefreshToken when the
// strategy has no refresh step or the session no refresh token.
func (s *Strategy) Refresh(ctx context.Context, t Tokens) (Tokens, error) {
	name := s.plan.Name()
	if s.refresh == nil || t.RefreshToken == "" {
		return t, &StepError{Strategy: name, Step: strategies.StepRefresh, Err: ErrNoRefreshToken}
	}
	start := time.Now()
	doc, err := s.runHTTP(ctx, s.refresh, &scope{s: s, tokens: t})
	s.observe(strategies.StepRefresh, start, err)
	if err != nil {
		return t, &StepError{Strategy: name, Step: strategies.StepRefresh, Err: err}
	}
	if !gjson.GetBytes(doc, "access_token").Exists() {
		return t, &StepError{Strategy: name, Step: strategies.StepRefresh,
			Err: fmt.Errorf("%w: refresh answer has no access_token", ErrBadResponse)}
	}
	return tokensFrom(doc, t, s.e.opts.Now()), nil
}

// Revoke runs the revoke steps ("revoke", then each "revoke_…", in file
// order) with the session's tokens (RFC 7009). Each runs whatever the ones
// before it answered: a failure to revoke one token is no reason to keep
// another alive. A step that reads a token the session does not hold (no
// refresh token) has nothing to revoke and is skipped: its templates fail
// before anything is sent. The errors are joined, each a *StepError naming
// its step. Without a revoke step it does nothing.
func (s *Strategy) Revoke(ctx context.Context, t Tokens) error {
	var errs []error
	for _, st := range s.revoke {
		start := time.Now()
		_, err := s.runHTTP(ctx, st, &scope{s: s, tokens: t})
		if errors.Is(err, ErrMissingValue) {
			continue
		}
		s.observe(st.Name(), start, err)
		if err != nil {
			errs = append(errs, &StepError{Strategy: s.plan.Name(), Step: st.Name(), Err: err})
		}
	}
	return errors.Join(errs...)
}

// LogoutURL returns the strategy's RP-initiated logout URL with the ID
// token and the post-logout redirect filled in, or "" when it has none.
func (s *Strategy) LogoutURL(idToken, postLogoutRedirectURI string) (string, error) {
	t := s.plan.LogoutURI()
	if t == nil || s.leftOut[StepLogout] != "" {
		return "", nil
	}
	sc := &scope{s: s, tokens: Tokens{IDToken: idToken}, postLogout: postLogoutRedirectURI}
	u, err := t.Execute(sc.value)
	if err != nil {
		return "", &StepError{Strategy: s.plan.Name(), Step: StepLogout, Err: wrapExec(err)}
	}
	return u, nil
}
