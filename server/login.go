package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store"
)

// bindingCookie ties pending logins to the browser that started them, so
// that a callback URL carried to another browser (login CSRF, a leaked
// link) finds no login. One value serves every tab: parallel logins are
// told apart by their state.
const bindingCookie = "authflow_login"

// pendingLogin is a login between the redirect and the callback, kept in
// the Store under "login:" + State for LoginTimeout and taken once.
type pendingLogin struct {
	Strategy     string    `json:"strategy"`
	State        string    `json:"state"`
	Nonce        string    `json:"nonce,omitempty"`
	CodeVerifier string    `json:"code_verifier,omitempty"`
	ReturnTo     string    `json:"return_to,omitempty"`
	Binding      string    `json:"binding"` // SHA-256 of the binding cookie
	Started      time.Time `json:"started"`
}

func loginKey(state string) string { return "login:" + state }

func bindingHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// chooser serves GET /auth/login: the strategy list, or a redirect when
// there is only one.
func (s *Server) chooser(w http.ResponseWriter, r *http.Request) {
	rt := s.returnTo(returnToParam(r))
	type item struct{ Label, URL string }
	var items []item
	for _, st := range s.Engine().Strategies() {
		u := "/auth/" + url.PathEscape(st.Name()) + "/login"
		if rt != "" {
			u += "?return_to=" + url.QueryEscape(rt)
		}
		items = append(items, item{st.Label(), u})
	}
	if len(items) == 1 {
		http.Redirect(w, r, items[0].URL, http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, "chooser", map[string]any{"Strategies": items})
}

// startLogin serves GET /auth/{strategy}/login: it records a pending login
// (state, nonce, PKCE verifier, return_to) and redirects to the IdP.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("strategy")
	st := s.Engine().Strategy(name)
	if st == nil {
		http.NotFound(w, r)
		return
	}
	binding := ""
	if c, err := r.Cookie(bindingCookie); err == nil && len(c.Value) >= 32 {
		binding = c.Value
	} else {
		binding = newID()
	}
	http.SetCookie(w, &http.Cookie{
		Name: bindingCookie, Value: binding, Path: "/", MaxAge: int(s.cfg.LoginTimeout / time.Second),
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode,
	})
	l := st.NewLogin()
	p := pendingLogin{
		Strategy: name, State: l.State, Nonce: l.Nonce, CodeVerifier: l.CodeVerifier,
		ReturnTo: s.returnTo(returnToParam(r)),
		Binding:  bindingHash(binding), Started: s.cfg.Now(),
	}
	target, err := st.AuthCodeURL(l)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	b, _ := json.Marshal(p)
	if err := s.cfg.Store.Set(r.Context(), loginKey(l.State), b, s.cfg.LoginTimeout); err != nil {
		s.fail(w, r, name, err)
		return
	}
	s.log.Info("login started", "strategy", name)
	http.Redirect(w, r, target, http.StatusFound)
}

// callback returns the handler of one strategy's redirect_path: it takes
// the pending login named by state (once), checks the browser binding, runs
// the login steps and starts the session.
func (s *Server) callback(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		q := r.URL.Query()
		p, err := s.takeLogin(r, name, q.Get("state"))
		if err != nil {
			s.fail(w, r, name, err)
			return
		}
		st := s.Engine().Strategy(name)
		if st == nil {
			http.NotFound(w, r)
			return
		}
		res, err := st.Exchange(ctx, &engine.Login{State: p.State, Nonce: p.Nonce, CodeVerifier: p.CodeVerifier}, q)
		if err != nil {
			s.fail(w, r, name, err)
			return
		}
		if _, err := s.startSession(ctx, res); err != nil {
			s.fail(w, r, name, err)
			return
		}
		s.log.Info("login", "strategy", name, "outcome", "ok", "latency", time.Since(start))
		s.cfg.Observer.Login(name, "ok")
		dest := p.ReturnTo
		if dest == "" {
			dest = s.cfg.SigninSuccess
		}
		http.Redirect(w, r, dest, http.StatusFound)
	}
}

// takeLogin takes the pending login of state from the Store — so that a
// replayed callback finds nothing — and checks that it belongs to this
// strategy and this browser.
func (s *Server) takeLogin(r *http.Request, name, state string) (*pendingLogin, error) {
	if state == "" {
		return nil, errLoginUnknown
	}
	b, err := s.cfg.Store.Take(r.Context(), loginKey(state))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errLoginUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("pending login: %w", err) // the store failed: a 500, not "expired"
	}
	var p pendingLogin
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	c, err := r.Cookie(bindingCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(bindingHash(c.Value)), []byte(p.Binding)) != 1 {
		return nil, errors.Join(errLoginUnknown, errors.New("the login was started in another browser (binding cookie)"))
	}
	if s.cfg.Now().Sub(p.Started) > s.cfg.LoginTimeout {
		return nil, errors.Join(errLoginUnknown, errors.New("the login took longer than the login timeout"))
	}
	if p.Strategy != name {
		return nil, errors.Join(errLoginUnknown, errors.New("the state belongs to strategy "+p.Strategy))
	}
	return &p, nil
}
