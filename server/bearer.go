package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/authflow/authflow/engine"
	"github.com/tidwall/gjson"
)

// API clients (RFC 6750): when a strategy of the engine has "bearer", a
// request to /auth/verify or through Require that carries
// Authorization: Bearer is judged by that token alone. Its session cookie,
// if any, is ignored; no session is read or made, no cookie set, no
// redirect answered. A bad token gets 401 with
// WWW-Authenticate: Bearer error="invalid_token"; a token without a
// required scope gets 403 with error="insufficient_scope" (RFC 6750 §3).
// The token never reaches a log or a metric: it is named by its hash.

// Answers' WWW-Authenticate values; shared, read-only.
var (
	wwwInvalidToken = []string{`Bearer error="invalid_token"`}
	wwwNoScope      = `Bearer error="insufficient_scope"`
)

// bearerOf returns the token of r's Authorization header when the engine
// takes bearer tokens and the header uses the Bearer scheme (any case,
// RFC 7235 §2.1): ok reports that the request is a bearer request. Two
// Authorization headers, or a Bearer header without a token, make one too,
// with token "": refused.
func (s *Server) bearerOf(r *http.Request, eng *engine.Engine) (token string, ok bool) {
	hs := r.Header["Authorization"]
	if len(hs) == 0 || !eng.TakesBearer() {
		return "", false
	}
	scheme, rest, _ := strings.Cut(hs[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	if len(hs) > 1 {
		return "", true
	}
	return strings.TrimLeft(rest, " "), true
}

// bearerAnswer is what a verified bearer token shows a check: made once
// per token (per engine.BearerToken) and shared, read-only.
type bearerAnswer struct {
	tok    *engine.BearerToken
	user   *User
	ident  *identity
	scopes []string // {X-Auth-Scopes}
	extra  map[string]any
	upKey  string       // its upstream JWT's cache key: "bearer:" + the token id
	last   atomic.Int64 // Unix seconds of its last use, for the sweep
}

// bearerAnswers keeps one bearerAnswer per token id, about max of them.
type bearerAnswers struct {
	m   sync.Map // token id → *bearerAnswer
	n   atomic.Int64
	max int
	mu  sync.Mutex
}

// answerFor returns the answer for tok, made once.
func (s *Server) answerFor(tok *engine.BearerToken, eng *engine.Engine) *bearerAnswer {
	now := s.cfg.Now().Unix()
	if v, ok := s.bearers.m.Load(tok.ID); ok {
		if a := v.(*bearerAnswer); a.tok == tok {
			a.last.Store(now)
			return a
		}
	}
	u := newUser(tok.Strategy, tok.Subject, tok.Claims, tok.User, tok.Expiry)
	u.Scopes, u.Bearer = slices.Clone(tok.Scopes), true
	a := &bearerAnswer{tok: tok, user: u, ident: newIdentity(u), upKey: "bearer:" + tok.ID}
	if len(tok.Scopes) > 0 {
		a.scopes = []string{escapeHeader(strings.Join(tok.Scopes, " "), false)}
	}
	if st := eng.Strategy(tok.Strategy); st != nil {
		a.extra = upstreamExtra(st, tok.User)
	}
	a.last.Store(now)
	s.bearers.put(tok.ID, a)
	return a
}

// put keeps a; past max it drops the answers unused for longest (those
// unused for a minute, then any, down to seven eighths of max).
func (c *bearerAnswers) put(id string, a *bearerAnswer) {
	if _, loaded := c.m.Swap(id, a); loaded || c.n.Add(1) <= int64(c.max) || !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	cut := a.last.Load() - 60
	c.m.Range(func(k, v any) bool {
		if k != id && (v.(*bearerAnswer).last.Load() < cut || c.n.Load() >= int64(c.max-c.max/8)) {
			if _, ok := c.m.LoadAndDelete(k); ok {
				c.n.Add(-1)
			}
		}
		return true
	})
}

// checkBearer verifies the bearer token of a request and applies the
// scopes (the strategy's required_scopes and rules.Scopes) and then the
// allow-lists. It answers the request itself on failure, JSON when json is
// set (Require), and returns nil then.
func (s *Server) checkBearer(w http.ResponseWriter, r *http.Request, eng *engine.Engine, raw string, rules Rules, json bool) *bearerAnswer {
	h := w.Header()
	observe := func(o Outcome) {
		if !json { // Observer.Verify counts /auth/verify's answers
			s.cfg.Observer.Verify(o)
		}
	}
	tok, err := eng.VerifyBearer(r.Context(), raw)
	if err != nil {
		if !errors.Is(err, engine.ErrInvalidToken) {
			// The token could not be judged (the key set or the
			// introspection endpoint failed): not a bad token.
			ref := newRef()
			s.log.Error("bearer", "ref", ref, "outcome", "error", "error", err.Error())
			observe(OutcomeError)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "token check unavailable", "ref": ref})
			return nil
		}
		s.log.Info("bearer", "outcome", "invalid_token", "reason", err.Error())
		observe(OutcomeUnauthenticated)
		h["Www-Authenticate"] = wwwInvalidToken
		if json {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		} else {
			w.WriteHeader(http.StatusUnauthorized)
		}
		return nil
	}
	a := s.answerFor(tok, eng)
	required := append(eng.RequiredScopes(tok.Strategy), rules.Scopes...)
	if !tok.HasScopes(required) {
		s.log.Info("bearer", "outcome", "insufficient_scope", "strategy", tok.Strategy, "token", tok.ID[:12])
		observe(OutcomeForbidden)
		h.Set("Www-Authenticate", wwwNoScope+`, scope="`+scopeAttr(required)+`"`)
		if json {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
		} else {
			w.WriteHeader(http.StatusForbidden)
		}
		return nil
	}
	rules.Scopes = nil
	if !rules.allows(a.user) {
		s.log.Info("bearer", "outcome", "forbidden", "strategy", tok.Strategy, "token", tok.ID[:12])
		observe(OutcomeForbidden)
		if json {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "not allowed"})
		} else {
			w.WriteHeader(http.StatusForbidden)
		}
		return nil
	}
	return a
}

// verifyBearer serves /auth/verify for a bearer request: 200 with the
// X-Auth-* headers (X-Auth-Scopes too) and, with UpstreamJWT, X-Auth-Token.
// Never a redirect, whatever ?redirect says: an API client does not
// follow one to a login page.
func (s *Server) verifyBearer(w http.ResponseWriter, r *http.Request, eng *engine.Engine, raw string, q url.Values) {
	var rules Rules
	if q != nil {
		rules = RulesFromQuery(q)
	}
	a := s.checkBearer(w, r, eng, raw, rules, false)
	if a == nil {
		return
	}
	h := w.Header()
	a.ident.setHeaders(h)
	if a.scopes != nil {
		h["X-Auth-Scopes"] = a.scopes
	}
	if s.upstream != nil {
		t, err := s.upstream.forBearer(a)
		if errors.Is(err, errSessionEnding) {
			s.cfg.Observer.Verify(OutcomeUnauthenticated)
			h["Www-Authenticate"] = wwwInvalidToken
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if err != nil {
			s.cfg.Observer.Verify(OutcomeError)
			s.upstreamTokenFailed(w, err, false)
			return
		}
		h["X-Auth-Token"] = t.hdr
	}
	s.cfg.Observer.Verify(OutcomeOK)
	w.WriteHeader(http.StatusOK)
}

// requireBearer is Require for a bearer request: next runs with the
// token's user (User.Bearer set) in the context; a failure is answered in
// JSON, never with a redirect.
func (s *Server) requireBearer(w http.ResponseWriter, r *http.Request, eng *engine.Engine, raw string, rules Rules, next http.Handler) {
	a := s.checkBearer(w, r, eng, raw, rules, true)
	if a == nil {
		return
	}
	ctx := context.WithValue(r.Context(), userKey{}, a.user.clone())
	next.ServeHTTP(w, r.WithContext(ctx))
}

// forBearer returns the upstream JWT of a bearer request: no sid, ending
// no later than the bearer token's exp, kept by the token's hash and
// reused while more than half of its life remains.
func (u *upstreamSigner) forBearer(a *bearerAnswer) (*upstreamToken, error) {
	now := u.now()
	if t := u.cache.get(a.upKey, a.ident, now); t != nil {
		return t, nil
	}
	end := a.tok.Expiry
	if end.IsZero() {
		end = now.Add(u.ttl)
	}
	t, err := u.sign(subjectClaims{
		sub:      a.tok.Subject,
		email:    a.ident.emailAddr(),
		groups:   a.ident.groupList(),
		strategy: a.tok.Strategy,
		extra:    a.extra,
	}, now, end)
	if err != nil {
		return nil, err
	}
	t.ident = a.ident.vals
	u.cache.put(a.upKey, t, now)
	return t, nil
}

// upstreamExtra evaluates the strategy's upstream_claims against a user
// object: each path that exists gives its claim; nil when there are none.
func upstreamExtra(st *engine.Strategy, user json.RawMessage) map[string]any {
	claims := st.Plan().UpstreamClaims()
	if len(claims) == 0 {
		return nil
	}
	out := make(map[string]any, len(claims))
	for _, c := range claims {
		if v := gjson.GetBytes(user, c.Path); v.Exists() {
			out[c.Name] = v.Value()
		}
	}
	return out
}

// scopeAttr is the scope attribute of a WWW-Authenticate challenge: the
// scopes that are RFC 6750 §3 scope-tokens (%x21 / %x23-5B / %x5D-7E),
// space-joined; others (a quote, a backslash from a verify URL) are left
// out rather than break the quoted string.
func scopeAttr(scopes []string) string {
	ok := func(sc string) bool {
		for i := range len(sc) {
			if c := sc[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return false
			}
		}
		return sc != ""
	}
	var out []string
	for _, sc := range scopes {
		if ok(sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

// hasScopes reports whether have holds every scope of want.
func hasScopes(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// bearerCacheSize bounds the bearer answers a Server keeps.
const bearerCacheSize = 10000

// sessionUpstreamClaims returns the upstream_claims of rec's strategy,
// read from the session's user object (its body decoded only when the
// strategy has some).
func (s *Server) sessionUpstreamClaims(rec *record) (map[string]any, error) {
	st := s.Engine().Strategy(rec.Strategy)
	if st == nil || len(st.Plan().UpstreamClaims()) == 0 {
		return nil, nil
	}
	u, err := rec.user()
	if err != nil {
		return nil, err
	}
	return upstreamExtra(st, u.Raw), nil
}
