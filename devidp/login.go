package devidp

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are the HTML pages the Provider serves itself.
var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// maxLoginForm bounds the login form's body.
const maxLoginForm = 64 << 10

// loginPage is the data of the "login" template.
type loginPage struct {
	Title         string
	Action        string // where the form posts: the login page itself
	AuthRequestID string
	ClientID      string
	Username      string
	Error         string
	Hints         []*User // shown when Options.ShowHints is set
}

// messagePage is the data of the "message" template.
type messagePage struct {
	Title string
	Text  string
}

// showLogin serves the login page for ?authRequestID=, where the authorize
// endpoint sends the browser.
func (p *Provider) showLogin(w http.ResponseWriter, r *http.Request) {
	ar, err := p.store.pendingLogin(r.URL.Query().Get("authRequestID"))
	if err != nil {
		p.renderNotPending(w)
		return
	}
	p.renderLogin(w, http.StatusOK, ar, ar.loginHint, "")
}

// submitLogin checks the form's username and password. On success it marks
// the auth request signed in and sends the browser to op's callback, which
// redirects to the client with the code; otherwise it shows the form again
// with 401.
func (p *Provider) submitLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		p.render(w, http.StatusBadRequest, "message", messagePage{Title: "Bad request", Text: "The sign-in form could not be read."})
		return
	}
	id := r.PostForm.Get("authRequestID")
	ar, err := p.store.pendingLogin(id)
	if err != nil {
		p.renderNotPending(w)
		return
	}
	username := r.PostForm.Get("username")
	user, ok := p.store.users.authenticate(username, r.PostForm.Get("password"))
	if !ok {
		p.stats.failedLogins.Add(1)
		p.renderLogin(w, http.StatusUnauthorized, ar, username, "Wrong username or password.")
		return
	}
	if err := p.store.completeLogin(id, user.ID); err != nil {
		p.renderNotPending(w)
		return
	}
	p.stats.logins.Add(1)
	callback := op.AuthCallbackURL(p.op)(op.ContextWithIssuer(r.Context(), p.Issuer()), id)
	http.Redirect(w, r, callback, http.StatusSeeOther)
}

// showLoggedOut is where end_session lands without a post_logout_redirect_uri.
func (p *Provider) showLoggedOut(w http.ResponseWriter, _ *http.Request) {
	p.render(w, http.StatusOK, "message", messagePage{Title: "Signed out", Text: "You are signed out. You can close this page."})
}

// renderLogin shows the login form for ar.
func (p *Provider) renderLogin(w http.ResponseWriter, status int, ar authRequest, username, message string) {
	page := loginPage{
		Title:         "Sign in",
		Action:        p.Issuer() + loginPath,
		AuthRequestID: ar.id,
		ClientID:      ar.clientID,
		Username:      username,
		Error:         message,
	}
	if p.showHints {
		page.Hints = p.store.users.ordered
	}
	p.render(w, status, "login", page)
}

// renderNotPending answers a login for an unknown, expired or finished auth
// request.
func (p *Provider) renderNotPending(w http.ResponseWriter) {
	p.render(w, http.StatusBadRequest, "message", messagePage{
		Title: "Sign-in expired",
		Text:  "This sign-in request is unknown, expired or already finished. Go back to the application and sign in again.",
	})
}

// render executes a page template with status and headers that keep the
// page out of caches, frames and Referer headers.
func (p *Provider) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "devidp: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
