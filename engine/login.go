package engine

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// Login holds the per-login secrets the engine generates. Keep it
// server-side between the redirect and the callback, and use it once.
type Login struct {
	State        string // sent as state; check it at the callback, once
	Nonce        string // sent as nonce when the scope has openid; "" otherwise
	CodeVerifier string // PKCE verifier (RFC 7636); "" when PKCE is off
	// Params are the login request's allow-listed parameters
	// (login_params, checked by Strategy.LoginParams): ${login.NAME}.
	Params map[string]string
	// RedirectURI, when set, is this login's ${redirect_uri} instead of the
	// strategy's: a loopback login's listener (see StartLoopback).
	RedirectURI string
}

// ErrStateMismatch: the callback's state is not the login's.
var ErrStateMismatch = errors.New("state mismatch")

// ErrNoBrowserLogin: the strategy has no auth_uri (grant_type
// client_credentials, or a device login only).
var ErrNoBrowserLogin = errors.New("the strategy has no browser login (no auth_uri)")

// ErrNoCode: the callback carries no authorization code.
var ErrNoCode = errors.New("callback has no code")

// NewLogin generates the per-login secrets: a state, a nonce when the scope
// holds openid (unless "nonce": false) and a PKCE verifier (unless
// "pkce": false).
func (s *Strategy) NewLogin() *Login {
	l := &Login{State: randomString()}
	if s.plan.SendsNonce() {
		l.Nonce = randomString()
	}
	if s.plan.PKCE() {
		l.CodeVerifier = randomString()
	}
	return l
}

// AuthCodeURL returns the URL to send the browser to: auth_uri expanded, with
// state, nonce and the S256 code challenge added when the template does not
// place them itself.
func (s *Strategy) AuthCodeURL(l *Login) (string, error) {
	name := s.plan.Name()
	if l == nil || l.State == "" {
		return "", &StepError{Strategy: name, Step: StepAuthorize, Err: errors.New("AuthCodeURL needs a Login from NewLogin")}
	}
	if s.plan.AuthURI() == nil {
		return "", &StepError{Strategy: name, Step: StepAuthorize, Err: ErrNoBrowserLogin}
	}
	sc := &scope{s: s, login: l}
	u, err := s.plan.AuthURI().Execute(sc.value)
	if err != nil {
		return "", &StepError{Strategy: name, Step: StepAuthorize, Err: wrapExec(err)}
	}
	var add []string
	if !s.plan.AuthURIPlaces(strategies.VarState) {
		add = append(add, "state="+url.QueryEscape(l.State))
	}
	if l.Nonce != "" && !s.plan.AuthURIPlaces(strategies.VarNonce) {
		add = append(add, "nonce="+url.QueryEscape(l.Nonce))
	}
	if s.plan.FormPost() && !s.plan.AuthURIPlaces("response_mode") {
		add = append(add, "response_mode=form_post")
	}
	for _, p := range s.plan.LoginParams() {
		if v, ok := l.Params[p.Name]; ok && !s.plan.AuthURIPlaces(p.Name) && !s.readsLoginParam(p.Name) {
			add = append(add, url.QueryEscape(p.Name)+"="+url.QueryEscape(v))
		}
	}
	if l.CodeVerifier != "" {
		if !s.plan.AuthURIPlaces(strategies.VarCodeChallenge) {
			add = append(add, "code_challenge="+l.CodeChallenge())
		}
		if !s.plan.AuthURIPlaces("code_challenge_method") {
			add = append(add, "code_challenge_method=S256")
		}
	}
	if len(add) == 0 {
		return u, nil
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + strings.Join(add, "&"), nil
}

// readsLoginParam reports whether auth_uri reads ${login.name} itself (in
// its host or under another parameter's name): it places that parameter.
func (s *Strategy) readsLoginParam(name string) bool {
	for _, b := range s.plan.AuthURI().Bindings() {
		if b.Source == strategies.FromLoginParam && b.Path == name {
			return true
		}
	}
	return false
}

// Exchange handles the callback: it checks the IdP's answer and the state,
// then runs the login steps in order (token exchange, JWT verification,
// userinfo...) and returns the user object, mapped claims and tokens.
func (s *Strategy) Exchange(ctx context.Context, l *Login, query url.Values) (*Result, error) {
	name := s.plan.Name()
	// The state first: an error answer is believed only from the IdP this
	// login went to (RFC 6749 §4.1.2.1 returns the state with errors too).
	if l == nil || l.State == "" || subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(l.State)) != 1 {
		return nil, &StepError{Strategy: name, Step: StepAuthorize, Err: ErrStateMismatch}
	}
	if code := query.Get("error"); code != "" {
		return nil, &StepError{Strategy: name, Step: StepAuthorize, Err: &ProviderError{
			Step: StepAuthorize, Code: ErrorCode(code), Description: query.Get("error_description")}}
	}
	if query.Get("code") == "" {
		return nil, &StepError{Strategy: name, Step: StepAuthorize, Err: ErrNoCode}
	}
	return s.runLogin(ctx, &scope{s: s, login: l, auth: query, results: map[string][]byte{}}, l)
}

// runLogin runs the login steps in order, but those whose result sc holds
// already (a device login's token step, polled before), and returns the
// user object, mapped claims and tokens.
func (s *Strategy) runLogin(ctx context.Context, sc *scope, l *Login) (*Result, error) {
	name := s.plan.Name()
	var userDoc []byte
	for _, st := range s.login {
		if _, done := sc.results[st.Name()]; done {
			continue
		}
		start := time.Now()
		doc, err := s.runStep(ctx, st, sc, l)
		if err == nil {
			sc.results[st.Name()] = doc
			switch {
			case st.IsUser():
				userDoc = doc
			case st.Name() == strategies.StepUserinfo && userDoc != nil:
				userDoc, err = mergeUserinfo(userDoc, doc)
			}
		}
		s.observe(st.Name(), start, err)
		if err != nil {
			return nil, &StepError{Strategy: name, Step: st.Name(), Err: err}
		}
	}
	if tok, ok := sc.results[strategies.StepToken]; ok {
		userDoc = scrubUser(userDoc, tok)
	}
	if !gjson.ParseBytes(userDoc).IsObject() {
		return nil, &StepError{Strategy: name, Step: s.plan.UserStep(), Err: fmt.Errorf("%w: the user object is not a JSON object", ErrBadResponse)}
	}
	res := &Result{Strategy: name, User: userDoc, Claims: s.mapClaims(userDoc, sc.results)}
	sub, err := s.subject(res)
	if err != nil {
		return nil, &StepError{Strategy: name, Step: s.plan.UserStep(), Err: err}
	}
	res.subject = sub
	if tok, ok := sc.results[strategies.StepToken]; ok {
		res.Tokens = tokensFrom(tok, Tokens{}, s.e.opts.Now())
	}
	return res, nil
}

// runStep runs one step and returns its JSON result.
func (s *Strategy) runStep(ctx context.Context, st *step, sc *scope, l *Login) ([]byte, error) {
	if !st.IsDecode() {
		return s.runHTTP(ctx, st, sc)
	}
	raw, err := st.Decode().Execute(sc.value)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", wrapExec(err))
	}
	if st.verify == nil {
		claims, err := decodeUnverified(raw)
		if err != nil {
			return nil, err
		}
		return json.Marshal(claims)
	}
	claims, err := st.verify.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	// The nonce binds the ID token to this login. The user step's token must
	// carry it; any other decoded token that carries a nonce must match too.
	if l != nil && l.Nonce != "" {
		if _, has := claims["nonce"]; has || st.IsUser() {
			if err := checkNonce(claims, l.Nonce); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(claims)
}

// mergeUserinfo merges a userinfo answer into the user object: its fields
// win, except sub. A sub that differs from the user object's fails (OIDC
// Core §5.3.2); a sub the user object lacks is never taken from userinfo,
// which is unsigned: the login then has no subject and fails.
func mergeUserinfo(user, info []byte) ([]byte, error) {
	var u, i map[string]any
	if err := json.Unmarshal(user, &u); err != nil {
		return nil, fmt.Errorf("%w: user object: %v", ErrBadResponse, err)
	}
	if err := json.Unmarshal(info, &i); err != nil {
		return nil, fmt.Errorf("%w: userinfo is not a JSON object: %v", ErrBadResponse, err)
	}
	if sub, ok := i["sub"]; ok && u["sub"] != nil {
		want, _ := subjectText(u["sub"])
		if got, err := subjectText(sub); err != nil || got != want {
			return nil, ErrSubjectMismatch
		}
	}
	for k, v := range i {
		if k != "sub" {
			u[k] = v
		}
	}
	return json.Marshal(u)
}

// mapClaims evaluates the strategy's claims: a path whose first segment
// names a login step reads that step's result; any other path reads the user
// object.
func (s *Strategy) mapClaims(user []byte, results map[string][]byte) map[string]any {
	claims := s.plan.Claims()
	if len(claims) == 0 {
		return nil
	}
	out := make(map[string]any, len(claims))
	for _, c := range claims {
		doc := user
		if c.Step != "" {
			doc = results[c.Step]
		}
		if v := gjson.GetBytes(doc, c.Path); v.Exists() {
			out[c.Name] = v.Value()
		}
	}
	return out
}

// observe reports a step run to Options.OnStep.
func (s *Strategy) observe(step string, start time.Time, err error) {
	if f := s.e.opts.OnStep; f != nil {
		f(StepEvent{Strategy: s.plan.Name(), Step: step, Duration: time.Since(start), Err: err})
	}
}
