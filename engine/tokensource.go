package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authflow/authflow/strategies"
)

// ErrNotClientCredentials: TokenSource was asked of a strategy whose
// grant_type is not client_credentials.
var ErrNotClientCredentials = errors.New("not a client_credentials strategy")

// tokenSourceSkew is how long before its expiry a cached token is fetched
// again, as golang.org/x/oauth2 does: a token handed out is good for at
// least this long. A token that lives shorter than twice this is fetched
// again once half of its life is gone (Tokens.RefreshDue).
const tokenSourceSkew = 10 * time.Second

// TokenSource hands out a client_credentials strategy's access token
// (RFC 6749 §4.4), modelled on golang.org/x/oauth2's TokenSource: it runs
// the strategy's token step once, keeps the token until shortly before it
// expires (a token without expires_in is kept for good), and then fetches
// a new one. However many goroutines ask at once, one fetch runs; they all
// get its answer. A failed fetch is not kept: the next call tries again.
// It is safe for concurrent use.
type TokenSource struct {
	s *Strategy

	mu       sync.Mutex
	tok      Tokens
	inflight *tokenFetch
}

// tokenFetch is one run of the token step, shared by every caller that
// asked while it ran.
type tokenFetch struct {
	done chan struct{}
	tok  Tokens
	err  error
}

// TokenSource returns a token source for a client_credentials strategy,
// with a cache of its own: keep it and share it rather than calling this
// for every request. Other strategies give ErrNotClientCredentials.
func (s *Strategy) TokenSource() (*TokenSource, error) {
	if !s.plan.ClientCredentials() {
		return nil, fmt.Errorf("engine: strategy %q: %w (grant_type %q)", s.plan.Name(), ErrNotClientCredentials, s.plan.GrantType())
	}
	return &TokenSource{s: s}, nil
}

// ClientCredentials reports whether the strategy is a client acting for
// itself (grant_type client_credentials): TokenSource runs it, and it has
// no login of any kind.
func (s *Strategy) ClientCredentials() bool { return s.plan.ClientCredentials() }

// BrowserLogin reports whether the strategy logs users in through a
// browser redirect (it has an auth_uri): only such a strategy has login
// routes and a place on the chooser.
func (s *Strategy) BrowserLogin() bool { return s.plan.BrowserLogin() }

// Token returns the cached access token while it is good for longer than
// a few seconds, else fetches a new one. ctx bounds this caller's wait; a
// fetch it started goes on for the others (within Options.StepTimeout)
// when ctx ends first.
func (ts *TokenSource) Token(ctx context.Context) (Tokens, error) {
	ts.mu.Lock()
	if ts.tok.AccessToken != "" && !ts.tok.RefreshDue(ts.s.e.opts.Now(), tokenSourceSkew) {
		tok := ts.tok
		ts.mu.Unlock()
		return tok, nil
	}
	f := ts.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		ts.inflight = f
		go ts.fetch(context.WithoutCancel(ctx), f)
	}
	ts.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return Tokens{}, ctx.Err()
	}
}

// AccessToken returns Token's access token alone.
func (ts *TokenSource) AccessToken(ctx context.Context) (string, error) {
	tok, err := ts.Token(ctx)
	return tok.AccessToken, err
}

// fetch runs the token step and publishes its outcome to f's callers.
func (ts *TokenSource) fetch(ctx context.Context, f *tokenFetch) {
	f.tok, f.err = ts.s.clientCredentials(ctx)
	ts.mu.Lock()
	if f.err == nil {
		ts.tok = f.tok
	}
	ts.inflight = nil
	ts.mu.Unlock()
	close(f.done)
}

// clientCredentials runs a client_credentials strategy's token step and
// reads its tokens.
func (s *Strategy) clientCredentials(ctx context.Context) (Tokens, error) {
	name := s.plan.Name()
	st := s.loginStep(strategies.StepToken)
	if st == nil {
		return Tokens{}, &StepError{Strategy: name, Step: strategies.StepToken, Err: errors.New("the strategy has no token step")}
	}
	start := time.Now()
	doc, err := s.runHTTP(ctx, st, &scope{s: s, results: map[string][]byte{}})
	var tok Tokens
	if err == nil {
		tok = tokensFrom(doc, Tokens{}, s.e.opts.Now())
		if tok.AccessToken == "" {
			err = fmt.Errorf("%w: the answer has no access_token", ErrBadResponse)
		}
	}
	s.observe(strategies.StepToken, start, err)
	if err != nil {
		return Tokens{}, &StepError{Strategy: name, Step: strategies.StepToken, Err: err}
	}
	return tok, nil
}

// loginStep returns the bound login step of that name, or nil.
func (s *Strategy) loginStep(name string) *step {
	for _, st := range s.login {
		if st.Name() == name {
			return st
		}
	}
	return nil
}
