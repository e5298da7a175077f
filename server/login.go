package server

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/authflow/authflow/engine"
)

// chooser serves GET /auth/login: the strategy list, or a redirect when
// there is only one.
func (s *Server) chooser(w http.ResponseWriter, r *http.Request) {
	rt := s.returnTo(returnToParam(r))
	type item = strategyLink
	var items []item
	for _, st := range s.Engine().Strategies() {
		if !st.BrowserLogin() {
			continue // client_credentials, or a device login only
		}
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
	s.render(w, http.StatusOK, "chooser", chooserPage{Strategies: items, ReturnTo: shownReturnTo(rt)})
}

// startLogin serves GET /auth/{strategy}/login: it seals a pending login
// (state, nonce, PKCE verifier, return_to) into a login cookie of its own
// and redirects to the IdP. Nothing is stored server-side.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("strategy")
	st := s.Engine().Strategy(name)
	if st == nil || !st.BrowserLogin() {
		s.unknownStrategy(w, r)
		return
	}
	params, err := s.loginParams(st, r)
	if err != nil {
		s.fail(w, r, name, err) // before anything is sealed or stored
		return
	}
	aeads, _, err := s.loginAEADs(r.Context(), loginKeyRecheck)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	l := st.NewLogin()
	l.Params = params
	p := pendingLogin{
		Strategy: name, State: l.State, Nonce: l.Nonce, CodeVerifier: l.CodeVerifier,
		ReturnTo: s.returnTo(returnToParam(r)), Started: s.cfg.Now().UnixMilli(), Params: params,
	}
	if len(p.ReturnTo) > maxReturnTo { // escaping made it longer
		s.log.Info("return_to dropped: longer than 2048 bytes", "strategy", name)
		p.ReturnTo = ""
	}
	target, err := st.AuthCodeURL(l)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	v, err := seal(aeads[0], &p)
	if err == nil && len(v) > maxLoginCookieValue && p.ReturnTo != "" {
		// return_to and the login parameters together are too long for one
		// cookie (which would never open): return_to gives way.
		s.log.Info("return_to dropped: the login cookie would exceed 4 KiB", "strategy", name)
		p.ReturnTo = ""
		v, err = seal(aeads[0], &p)
	}
	if err == nil && len(v) > maxLoginCookieValue {
		err = &engine.LoginParamError{Strategy: name, Param: "?", Reason: "the login parameters are too long for the login cookie"}
	}
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	cookie := s.loginCookieFor(s.loginCookieName(l.State), v, st.FormPost())
	s.pruneLoginCookies(w, r, aeads, len(cookie.Name)+len(v)+2)
	http.SetCookie(w, cookie)
	s.log.Info("login started", "strategy", name)
	http.Redirect(w, r, target, http.StatusFound)
}

// callback returns the handler of one strategy's redirect_path: it takes
// the pending login named by state (once), checks the browser binding, runs
// the login steps and starts the session.
func (s *Server) callback(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.finishLogin(w, r, name, r.URL.Query())
	}
}

// finishLogin completes a login from the callback's parameters q (the
// query, or a form_post callback's form).
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, name string, q url.Values) {
	start := time.Now()
	ctx := r.Context()
	p, err := s.takeLogin(w, r, name, q.Get("state"))
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	st := s.Engine().Strategy(name)
	if st == nil {
		s.unknownStrategy(w, r)
		return
	}
	res, err := st.Exchange(ctx, &engine.Login{State: p.State, Nonce: p.Nonce, CodeVerifier: p.CodeVerifier, Params: p.Params}, q)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	if _, err := s.startSession(ctx, w, r, res); err != nil {
		s.fail(w, r, name, err)
		return
	}
	s.log.Info("login", "strategy", name, "outcome", "ok", "latency", time.Since(start))
	s.cfg.Observer.Login(name, OutcomeOK)
	dest := p.ReturnTo
	if dest == "" {
		dest = s.cfg.SigninSuccess
	}
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // the browser follows with a GET
	}
	http.Redirect(w, r, dest, status)
}

// takeLogin takes the pending login of state from this browser's login
// cookie and spends its state in the Store, so that a replayed callback
// finds it used; then it checks that the login belongs to this strategy.
// A browser without the cookie (another browser) uses nothing up; one
// with it uses the login up, whatever happens next.
func (s *Server) takeLogin(w http.ResponseWriter, r *http.Request, name, state string) (*pendingLogin, error) {
	if state == "" {
		return nil, errLoginUnknown
	}
	ctx := r.Context()
	cname := s.loginCookieName(state)
	c, err := r.Cookie(cname)
	if err != nil {
		return nil, errors.Join(errLoginUnknown, errors.New("no login cookie for this state: the login was started in another browser, completed already, or is older than the login timeout"))
	}
	p, ok, err := s.openLogin(ctx, c.Value)
	if err != nil {
		return nil, fmt.Errorf("pending login: %w", err) // no key: a 500, not "expired"
	}
	st := s.Engine().Strategy(name)
	http.SetCookie(w, s.loginCookieFor(cname, "", st != nil && st.FormPost()))
	if !ok || subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 {
		return nil, errors.Join(errLoginUnknown, errors.New("the login cookie was not minted by this server for this state (forged, altered, or from an older key)"))
	}
	left := s.cfg.LoginTimeout - s.cfg.Now().Sub(p.started())
	if left <= 0 {
		return nil, errors.Join(errLoginUnknown, errors.New("the login took longer than the login timeout"))
	}
	fresh, err := s.cfg.Store.SetNew(ctx, spentKey(state), []byte{1}, max(left, time.Second))
	if err != nil {
		return nil, fmt.Errorf("pending login: %w", err) // the store failed: a 500, not "expired"
	}
	if !fresh {
		return nil, errors.Join(errLoginUnknown, errors.New("the login was already completed (a replayed callback)"))
	}
	if p.Strategy != name {
		return nil, errors.Join(errLoginUnknown, errors.New("the state belongs to strategy "+p.Strategy))
	}
	return p, nil
}
