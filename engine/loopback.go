package engine

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authflow/authflow/strategies"
)

// ErrLoopbackRedirect: the strategy's auth_uri does not send
// ${redirect_uri}, so a loopback login cannot name its own listener.
var ErrLoopbackRedirect = errors.New("auth_uri does not send ${redirect_uri}: a loopback login needs it to name its listener")

// Loopback is a browser login for a program on the user's machine (RFC
// 8252 §7.3): a listener on 127.0.0.1 at a port the system picks, whose
// address is the login's redirect_uri. The login is a browser login in
// every other way: a fresh state (checked once), a nonce when the scope
// holds openid, PKCE S256. Get one from StartLoopback, send the user to
// URL, then call Wait. The identity provider must allow a loopback
// redirect URI with any port, as RFC 8252 §7.3 asks of it.
type Loopback struct {
	s           *Strategy
	login       *Login
	authURL     string
	ln          net.Listener
	srv         *http.Server
	callbacks   chan loopbackCallback
	answered    atomic.Bool   // a callback with the state has come
	closed      chan struct{} // closed by Close
	closeOnce   sync.Once
	redirectURI string
}

// loopbackCallback is a callback whose state matched, handed from the
// listener to Wait, with where Wait answers the browser.
type loopbackCallback struct {
	query url.Values
	reply chan error
}

// StartLoopback opens the listener and builds the authorize URL. Close
// the Loopback when done (Wait does).
func (s *Strategy) StartLoopback() (*Loopback, error) {
	name := s.plan.Name()
	if s.plan.AuthURI() == nil {
		return nil, &StepError{Strategy: name, Step: StepAuthorize, Err: ErrNoBrowserLogin}
	}
	places := false
	for _, b := range s.plan.AuthURI().Bindings() {
		if b.Source == strategies.FromEngine && b.Root == strategies.VarRedirectURI {
			places = true
		}
	}
	if !places {
		return nil, &StepError{Strategy: name, Step: StepAuthorize, Err: ErrLoopbackRedirect}
	}
	// RFC 8252 §8.3: the loopback IP literal, not "localhost", which a
	// resolver or firewall may send elsewhere.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, &StepError{Strategy: name, Step: StepAuthorize, Err: fmt.Errorf("loopback listener: %w", err)}
	}
	port := ln.Addr().(*net.TCPAddr).Port
	lb := &Loopback{s: s, ln: ln, login: s.NewLogin(), callbacks: make(chan loopbackCallback), closed: make(chan struct{})}
	lb.redirectURI = "http://127.0.0.1:" + strconv.Itoa(port) + s.plan.RedirectPath()
	lb.login.RedirectURI = lb.redirectURI
	if lb.authURL, err = s.AuthCodeURL(lb.login); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+s.plan.RedirectPath(), lb.callback)
	lb.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go lb.srv.Serve(ln)
	return lb, nil
}

// URL returns the authorize URL to open in the user's browser.
func (lb *Loopback) URL() string { return lb.authURL }

// RedirectURI returns the listener's callback URL, this login's
// redirect_uri.
func (lb *Loopback) RedirectURI() string { return lb.redirectURI }

// callback serves the redirect back from the identity provider. A request
// without this login's state is answered 400 and changes nothing, so that
// a page that guesses the port cannot end the login; the first with it is
// handed to Wait, which answers it.
func (lb *Loopback) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(lb.login.State)) != 1 {
		lb.page(w, http.StatusBadRequest, "This is not the sign-in this program started.")
		return
	}
	if !lb.answered.CompareAndSwap(false, true) {
		lb.page(w, http.StatusConflict, "This sign-in has already been answered.")
		return
	}
	cb := loopbackCallback{query: q, reply: make(chan error, 1)}
	select {
	case lb.callbacks <- cb:
	case <-lb.closed:
		lb.page(w, http.StatusGone, "This sign-in has ended.")
		return
	case <-r.Context().Done():
		return
	}
	select {
	case err := <-cb.reply:
		if err != nil {
			lb.page(w, http.StatusUnauthorized, "Sign-in failed. See the terminal for why.")
			return
		}
		lb.page(w, http.StatusOK, "You are signed in. You can close this tab and go back to the terminal.")
	case <-r.Context().Done(): // Wait, having the callback, always replies
	}
}

// page answers the browser with a short plain page; nothing from the
// request or the identity provider goes into it.
func (lb *Loopback) page(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>authflow</title><p>%s</p>\n", html.EscapeString(text))
}

// Wait waits for the callback, runs the login steps as Exchange does (the
// state checked once, the code exchanged with this login's redirect_uri
// and PKCE verifier, the ID token's nonce checked) and returns the
// Result. It closes the Loopback.
func (lb *Loopback) Wait(ctx context.Context) (*Result, error) {
	defer lb.Close()
	select {
	case cb := <-lb.callbacks:
		res, err := lb.s.Exchange(ctx, lb.login, cb.query)
		cb.reply <- err
		return res, err
	case <-ctx.Done():
		return nil, &StepError{Strategy: lb.s.Name(), Step: StepAuthorize, Err: ctx.Err()}
	}
}

// Close stops the listener. It is safe to call more than once.
func (lb *Loopback) Close() error {
	var err error
	lb.closeOnce.Do(func() {
		close(lb.closed)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = lb.srv.Shutdown(ctx)
	})
	return err
}
