package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// How long introspection answers are kept (by a hash of the token): an
// active token's for at most IntrospectionCacheTTL and never past its
// exp, so that a token revoked at the provider is refused within a
// minute; a refused one's for NegativeCacheTTL, so that a client
// retrying a dead token does not make one introspection call per request.
const (
	IntrospectionCacheTTL = time.Minute
	NegativeCacheTTL      = 10 * time.Second
)

// errInactive: the introspection endpoint says the token is not active.
var errInactive = errors.New("bearer: the introspection endpoint answers active: false")

// introspectToken asks the strategy's introspect step about raw (RFC
// 7662) and returns the token, how long the answer may be kept (zero: not
// at all), and a failure.
func (b *bearerStrategy) introspectToken(ctx context.Context, raw string, now time.Time) (*BearerToken, time.Time, error) {
	s := b.s
	if b.introspect == nil {
		return nil, time.Time{}, invalidToken(errors.New("bearer: the strategy does not introspect tokens"))
	}
	start := time.Now()
	doc, err := s.runHTTP(ctx, b.introspect, &scope{s: s, bearer: raw})
	s.observe(strategies.StepIntrospect, start, err)
	if err != nil {
		// The endpoint failed or refused to answer: nothing is known of the
		// token, and nothing is kept.
		return nil, time.Time{}, &StepError{Strategy: s.Name(), Step: strategies.StepIntrospect, Err: err}
	}
	negative := now.Add(NegativeCacheTTL)
	if gjson.GetBytes(doc, "active").Type != gjson.True {
		return nil, negative, invalidToken(errInactive)
	}
	if err := b.checkIntrospection(doc, now); err != nil {
		return nil, negative, invalidToken(err)
	}
	t, err := b.token(doc)
	if err != nil {
		return nil, negative, err
	}
	t.Introspected = true
	until := now.Add(IntrospectionCacheTTL)
	if exp := gjson.GetBytes(doc, "exp"); exp.Exists() {
		t.Expiry = time.Unix(exp.Int(), 0)
		until = minTime(until, t.Expiry)
	}
	return t, until, nil
}

// checkIntrospection checks the members of an active answer that it has:
// exp and nbf (with leeway), iss (the strategy's issuer, when it has one)
// and aud (holding the bearer audience).
func (b *bearerStrategy) checkIntrospection(doc []byte, now time.Time) error {
	leeway := b.s.e.opts.Leeway
	for _, name := range []string{"exp", "nbf", "iat"} {
		v := gjson.GetBytes(doc, name)
		if !v.Exists() {
			continue
		}
		if v.Type != gjson.Number || !(v.Num >= 0 && v.Num <= maxTimeClaim) {
			return fmt.Errorf("bearer: introspection %s is not a NumericDate", name)
		}
		at := time.Unix(int64(v.Num), 0)
		switch {
		case name == "exp" && !now.Before(at.Add(leeway)):
			return errors.New("bearer: introspection exp has passed")
		case name == "nbf" && now.Add(leeway).Before(at):
			return errors.New("bearer: introspection nbf is in the future")
		}
	}
	if v := gjson.GetBytes(doc, "iss"); v.Exists() && b.issuer != "" && v.String() != b.issuer {
		return fmt.Errorf("bearer: introspection iss %.80q is not the strategy's issuer", v.String())
	}
	if v := gjson.GetBytes(doc, "aud"); v.Exists() {
		var auds []string
		if v.IsArray() {
			for _, a := range v.Array() {
				auds = append(auds, a.String())
			}
		} else {
			auds = []string{v.String()}
		}
		if !slices.Contains(auds, b.audience) {
			return errors.New("bearer: introspection aud does not hold the audience")
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
