package engine

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// ErrStateMismatch: the callback's state is not the login's.
var ErrStateMismatch = errors.New("state mismatch")

// ErrNoCode: the callback carries no authorization code.
var ErrNoCode = errors.New("callback has no code")

// Result is what a successful login produces.
type Result struct {
	// Strategy is the strategy's name.
	Strategy string
	// User is the user object: the result of the jwt (or jwt_key) step,
	// with a following userinfo step's fields merged in.
	User json.RawMessage
	// Claims are the strategy's mapped claims (the "claims" key), read from
	// the user object or a login step's result. Absent paths are left out.
	Claims map[string]any
	// Tokens are the token step's tokens.
	Tokens Tokens

	subject string // set by Exchange
}

// Subject returns the user's subject: the mapped "sub" claim when the
// strategy maps one (GitHub's numeric "id"), else the user object's "sub".
// It is a non-empty string; an integer is written as its decimal text.
// Exchange fails a login without one; for a Result made otherwise, Subject
// returns "" when there is none.
func (r *Result) Subject() string {
	if r.subject != "" {
		return r.subject
	}
	v, ok := r.Claims["sub"]
	if !ok {
		v = gjson.GetBytes(r.User, "sub").Value()
	}
	sub, _ := subjectText(v)
	return sub
}

// maxExactInteger is the largest integer a JSON number keeps exactly as a
// float64 (2^53), the form claims take.
const maxExactInteger = 1 << 53

// subjectText returns a subject value as text: a non-empty string as it
// is, an integer (GitHub's id) as its decimal text. Anything else (absent,
// null, "", an object, an array, a boolean, a fraction, an integer too
// large to be exact) is no subject.
func subjectText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		if x != "" {
			return x, nil
		}
		return "", errors.New("empty")
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxExactInteger {
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return "", errors.New("a number that is not an exact integer")
	case nil:
		return "", errors.New("absent or null")
	default:
		return "", fmt.Errorf("%s, not a string or an integer", jsonKind(v))
	}
}

// jsonKind names the JSON type of a decoded value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// subject finds the login's subject: the mapped sub claim when the
// strategy maps one (then it must be there: a user object's sub does not
// stand in for it), else the user object's sub.
func (s *Strategy) subject(res *Result) (string, error) {
	v, from := gjson.GetBytes(res.User, "sub").Value(), "the user object's sub"
	if path, mapped := s.def.Claims["sub"]; mapped {
		v, from = res.Claims["sub"], fmt.Sprintf("the mapped sub claim (%q)", path)
	}
	sub, err := subjectText(v)
	if err != nil {
		return "", fmt.Errorf("%w: %w: %s is %v", ErrBadResponse, ErrNoSubject, from, err)
	}
	return sub, nil
}

// NewLogin generates the per-login secrets: a state, a nonce when the scope
// holds openid (unless "nonce": false) and a PKCE verifier (unless
// "pkce": false).
func (s *Strategy) NewLogin() *Login {
	l := &Login{State: randomString()}
	if s.useNonce {
		l.Nonce = randomString()
	}
	if s.def.PKCE {
		l.CodeVerifier = randomString()
	}
	return l
}

func (s *Strategy) loginScope(l *Login, query url.Values) *scope {
	return &scope{s: s, auth: query, results: map[string][]byte{}, gen: map[string]string{
		strategies.VarState:         l.State,
		strategies.VarNonce:         l.Nonce,
		strategies.VarCodeVerifier:  l.CodeVerifier,
		strategies.VarCodeChallenge: l.CodeChallenge(),
		strategies.VarRedirectURI:   s.redirectURI,
	}}
}

// AuthCodeURL returns the URL to send the browser to: auth_uri expanded, with
// state, nonce and the S256 code challenge added when the template does not
// place them itself.
func (s *Strategy) AuthCodeURL(l *Login) (string, error) {
	if l == nil || l.State == "" {
		return "", &StepError{Strategy: s.def.Name, Step: "authorize", Err: errors.New("AuthCodeURL needs a Login from NewLogin")}
	}
	u, err := s.authURI.Execute(interp.URI, s.loginScope(l, nil).lookup)
	if err != nil {
		return "", &StepError{Strategy: s.def.Name, Step: "authorize", Err: wrapExec(err)}
	}
	var add []string
	if !s.authPlace[strategies.VarState] && !s.authPlace["state"] {
		add = append(add, "state="+url.QueryEscape(l.State))
	}
	if l.Nonce != "" && !s.authPlace[strategies.VarNonce] {
		add = append(add, "nonce="+url.QueryEscape(l.Nonce))
	}
	if l.CodeVerifier != "" {
		if !s.authPlace[strategies.VarCodeChallenge] {
			add = append(add, "code_challenge="+l.CodeChallenge())
		}
		if !s.authPlace["code_challenge_method"] {
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

// Exchange handles the callback: it checks the IdP's answer and the state,
// then runs the login steps in order (token exchange, JWT verification,
// userinfo...) and returns the user object, mapped claims and tokens.
func (s *Strategy) Exchange(ctx context.Context, l *Login, query url.Values) (*Result, error) {
	name := s.def.Name
	// The state first: an error answer is believed only from the IdP this
	// login went to (RFC 6749 §4.1.2.1 returns the state with errors too).
	if l == nil || l.State == "" || subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(l.State)) != 1 {
		return nil, &StepError{Strategy: name, Step: "authorize", Err: ErrStateMismatch}
	}
	if code := query.Get("error"); code != "" {
		return nil, &StepError{Strategy: name, Step: "authorize", Err: &ProviderError{
			Step: "authorize", Code: code, Description: query.Get("error_description")}}
	}
	if query.Get("code") == "" {
		return nil, &StepError{Strategy: name, Step: "authorize", Err: ErrNoCode}
	}
	sc := s.loginScope(l, query)
	var userDoc []byte
	for _, st := range s.login {
		start := time.Now()
		doc, err := s.runStep(ctx, st, sc, l)
		if err == nil {
			sc.results[st.name] = doc
			switch {
			case st.isUser:
				userDoc = doc
			case st.name == strategies.StepUserinfo && userDoc != nil:
				userDoc, err = mergeUserinfo(userDoc, doc)
			}
		}
		s.observe(st.name, start, err)
		if err != nil {
			return nil, &StepError{Strategy: name, Step: st.name, Err: err}
		}
	}
	if !gjson.ParseBytes(userDoc).IsObject() {
		return nil, &StepError{Strategy: name, Step: s.def.UserStep(), Err: fmt.Errorf("%w: the user object is not a JSON object", ErrBadResponse)}
	}
	res := &Result{Strategy: name, User: userDoc, Claims: s.mapClaims(userDoc, sc.results)}
	sub, err := s.subject(res)
	if err != nil {
		return nil, &StepError{Strategy: name, Step: s.def.UserStep(), Err: err}
	}
	res.subject = sub
	if tok, ok := sc.results[strategies.StepToken]; ok {
		res.Tokens = tokensFrom(tok, Tokens{}, s.e.opts.Now())
	}
	return res, nil
}

// runStep runs one step and returns its JSON result.
func (s *Strategy) runStep(ctx context.Context, st *step, sc *scope, l *Login) ([]byte, error) {
	if st.decode == nil {
		return s.runHTTP(ctx, st, sc)
	}
	raw, err := st.decode.Execute(interp.Raw, sc.lookup)
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
		if _, has := claims["nonce"]; has || st.isUser {
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
	if len(s.def.Claims) == 0 {
		return nil
	}
	out := make(map[string]any, len(s.def.Claims))
	for name, path := range s.def.Claims {
		doc := user
		if root, rest, ok := strings.Cut(path, "."); ok {
			if r, isStep := results[root]; isStep {
				doc, path = r, rest
			}
		}
		if v := gjson.GetBytes(doc, path); v.Exists() {
			out[name] = v.Value()
		}
	}
	return out
}

// observe reports a step run to Options.OnStep.
func (s *Strategy) observe(step string, start time.Time, err error) {
	if f := s.e.opts.OnStep; f != nil {
		f(StepEvent{Strategy: s.def.Name, Step: step, Duration: time.Since(start), Err: err})
	}
}
