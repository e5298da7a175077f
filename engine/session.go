package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// Refresh runs the refresh step with the session's tokens and returns the
// new tokens. A refresh_token in the answer replaces the old one (rotation);
// without one the old one is kept. An id_token in the answer is verified as
// RefreshSession does, its sub against the session's ID token's. It fails
// with ErrNoRefreshToken when the strategy has no refresh step or the
// session no refresh token. A server keeping sessions uses RefreshSession.
func (s *Strategy) Refresh(ctx context.Context, t Tokens) (Tokens, error) {
	r, err := s.RefreshSession(ctx, t, "", nil, nil)
	if err != nil {
		return t, err
	}
	return r.Tokens, nil
}

// Refreshed is what a session's refresh produced.
type Refreshed struct {
	// Tokens are the session's new tokens.
	Tokens Tokens
	// SessionID is the sid of the refresh answer's verified ID token
	// (back-channel logout names sessions by it); "" when the answer had
	// no ID token, or it no sid.
	SessionID string
	// User and Claims, with refresh_userinfo, are the user object and
	// mapped claims derived anew; nil otherwise, or when UserinfoErr.
	User   json.RawMessage
	Claims map[string]any
	// UserinfoErr: with refresh_userinfo, the userinfo step failed (the
	// IdP down, a 5xx…). The tokens are new and must be kept (the old
	// refresh token may be spent); the user object stays as it was.
	UserinfoErr error
}

// RefreshSession refreshes the session of subject sub whose user object
// is user and mapped claims claims. After the refresh step:
//
//   - an id_token in the answer is verified with the keys, issuer,
//     audience and algorithms of the login step that decodes
//     ${token.id_token} (signature, iss, aud, exp, iat; no nonce is
//     required, OpenID Connect Core §12.2, but one present must be the
//     login's ID token's), and its sub must be the session's (the login's
//     ID token's sub, else sub): a failure is ErrInvalidToken or
//     ErrSubjectChanged, and the session must end. A strategy without such
//     a verified step keeps its old ID token: an unverified one is never
//     stored;
//   - with refresh_userinfo, the userinfo step runs again with the new
//     access token (${token.…} is the refresh answer, the user step's
//     result the new ID token's claims or user), the user object and
//     claims are derived anew (a claim read from another login step, which
//     does not run again, keeps its value), and a subject other than sub
//     is ErrSubjectChanged.
//
// On an identity failure the result still carries the new tokens, for the
// caller to revoke.
func (s *Strategy) RefreshSession(ctx context.Context, t Tokens, sub string, user json.RawMessage, claims map[string]any) (*Refreshed, error) {
	name := s.plan.Name()
	fail := func(r *Refreshed, err error) (*Refreshed, error) {
		return r, &StepError{Strategy: name, Step: strategies.StepRefresh, Err: err}
	}
	if s.refresh == nil || t.RefreshToken == "" {
		return fail(nil, ErrNoRefreshToken)
	}
	start := time.Now()
	doc, err := s.runHTTP(ctx, s.refresh, &scope{s: s, tokens: t})
	s.observe(strategies.StepRefresh, start, err)
	if err != nil {
		return fail(nil, err)
	}
	if !gjson.GetBytes(doc, "access_token").Exists() {
		return fail(nil, fmt.Errorf("%w: refresh answer has no access_token", ErrBadResponse))
	}
	r := &Refreshed{Tokens: tokensFrom(doc, t, s.e.opts.Now())}
	var idClaims []byte
	if raw := gjson.GetBytes(doc, "id_token").String(); raw != "" {
		idStep := s.idTokenStep()
		if idStep == nil {
			r.Tokens.IDToken = t.IDToken // unverifiable here: never stored
		} else {
			claims, sid, err := s.verifyRefreshIDToken(ctx, idStep, raw, t.IDToken, sub)
			if err != nil {
				return fail(r, err)
			}
			r.SessionID = sid
			if idStep.IsUser() {
				idClaims = claims
			}
		}
	}
	if s.plan.RefreshUserinfo() {
		if err := s.refreshUserinfo(ctx, r, doc, idClaims, user, claims, sub); err != nil {
			return fail(r, err)
		}
	}
	return r, nil
}

// idTokenStep returns the verified login step that decodes
// ${token.id_token}, or nil.
func (s *Strategy) idTokenStep() *step {
	for _, st := range s.login {
		if st.verify != nil && st.Decode().String() == "${token.id_token}" {
			return st
		}
	}
	return nil
}

// verifyRefreshIDToken verifies a refresh answer's ID token and returns its
// claims (JSON) and sid. prevRaw is the session's ID token, verified at
// login; its sub (else sub) is the one the new token must name.
func (s *Strategy) verifyRefreshIDToken(ctx context.Context, st *step, raw, prevRaw, sub string) ([]byte, string, error) {
	claims, err := st.verify.verify(ctx, raw)
	if err != nil {
		return nil, "", fmt.Errorf("id_token: %w", err)
	}
	var prev map[string]any
	if prevRaw != "" {
		prev, _ = decodeUnverified(prevRaw)
	}
	want := sub
	if p, err := subjectText(prev["sub"]); err == nil {
		want = p
	}
	got, err := subjectText(claims["sub"])
	if err != nil || want == "" || got != want {
		return nil, "", fmt.Errorf("id_token: %w", ErrSubjectChanged)
	}
	if n, has := claims["nonce"]; has && n != prev["nonce"] {
		return nil, "", invalidToken(errors.New("id_token: a nonce other than the login's ID token's (OpenID Connect Core §12.2)"))
	}
	sid, _ := claims["sid"].(string)
	b, err := json.Marshal(claims)
	return b, sid, err
}

// refreshUserinfo runs the userinfo step again after a refresh and derives
// the user object and claims anew into r.
func (s *Strategy) refreshUserinfo(ctx context.Context, r *Refreshed, doc, idClaims, user json.RawMessage, old map[string]any, sub string) error {
	var info *step
	for _, st := range s.login {
		if st.Name() == strategies.StepUserinfo {
			info = st
		}
	}
	if info == nil {
		return nil // left out by discovery
	}
	base := user
	if idClaims != nil {
		base = idClaims
	}
	results := map[string][]byte{strategies.StepToken: doc, s.plan.UserStep(): base}
	start := time.Now()
	got, err := s.runHTTP(ctx, info, &scope{s: s, results: results, tokens: r.Tokens})
	s.observe(strategies.StepUserinfo, start, err)
	if err != nil {
		r.UserinfoErr = &StepError{Strategy: s.plan.Name(), Step: strategies.StepUserinfo, Err: err}
		return nil
	}
	results[strategies.StepUserinfo] = got
	merged, err := mergeUserinfo(base, got)
	if err != nil {
		return err
	}
	res := &Result{User: merged, Claims: s.mapClaims(merged, results)}
	for _, c := range s.plan.Claims() {
		if _, ran := results[c.Step]; c.Step != "" && !ran {
			if v, ok := old[c.Name]; ok {
				if res.Claims == nil {
					res.Claims = map[string]any{}
				}
				res.Claims[c.Name] = v
			}
		}
	}
	now, err := s.subject(res)
	if err != nil || now != sub {
		return fmt.Errorf("userinfo: %w", ErrSubjectChanged)
	}
	r.User, r.Claims = merged, res.Claims
	return nil
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
