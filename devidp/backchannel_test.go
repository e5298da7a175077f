package devidp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// rp is a relying party's back-channel logout endpoint that records the
// POSTs it gets and answers them with answer (nil: 200).
type rp struct {
	srv    *httptest.Server
	answer http.HandlerFunc

	mu    sync.Mutex
	posts []rpPost
}

// rpPost is one request the endpoint got.
type rpPost struct {
	method, contentType string
	form                url.Values
}

func newRP(t *testing.T, answer http.HandlerFunc) *rp {
	t.Helper()
	r := &rp{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		r.mu.Lock()
		r.posts = append(r.posts, rpPost{method: req.Method, contentType: req.Header.Get("Content-Type"), form: req.PostForm})
		r.mu.Unlock()
		if r.answer != nil {
			r.answer(w, req)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// uri is the endpoint's URL, with a query as the spec allows.
func (r *rp) uri() string { return r.srv.URL + "/backchannel-logout?tenant=1" }

// got returns the requests so far.
func (r *rp) got() []rpPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rpPost(nil), r.posts...)
}

// startWithRP runs a Provider whose web client (and only it) has a
// back-channel logout endpoint at r.
func startWithRP(t *testing.T, r *rp, mutate func(*devidp.Options)) *idp {
	return start(t, func(o *devidp.Options) {
		o.Clients = append([]devidp.Client(nil), o.Clients...)
		o.Clients[0].BackchannelLogoutURI = r.uri()
		o.Clients[0].BackchannelLogoutSessionRequired = true
		if mutate != nil {
			mutate(o)
		}
	})
}

// signIn logs user in for c through the code flow and returns the token
// response and the ID token's sid.
func (i *idp) signIn(c clientAuth, user devidp.User) (map[string]any, string) {
	i.t.Helper()
	f := newFlow()
	tok := i.mustExchange(i.login(c.id, callback, fullScope, f, user), f.verifier, callback, c)
	claims, _ := i.verifyIDToken(str(tok, "id_token"), "RS256", c.id)
	sid, _ := claims["sid"].(string)
	if sid == "" {
		i.t.Fatalf("ID token has no sid: %v", claims)
	}
	return tok, sid
}

// keyfunc returns a key function for the Provider's current JWKS.
func (i *idp) keyfunc() jwt.Keyfunc {
	i.t.Helper()
	set, err := authtest.FetchKeySet(i.t.Context(), i.srv.Client(), i.Issuer()+"/keys")
	if err != nil {
		i.t.Fatal(err)
	}
	return set.Keyfunc
}

// verifyLogoutToken validates a logout token as an RP must (Back-Channel
// Logout 1.0 §2.6): signature against the JWKS, iss, aud, iat and exp, the
// typ header, the events claim, sub and sid, a jti, and no nonce. It
// returns the claims.
func (i *idp) verifyLogoutToken(raw, clientID string) jwt.MapClaims {
	i.t.Helper()
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, i.keyfunc(),
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(i.Issuer()),
		jwt.WithAudience(clientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err != nil {
		i.t.Fatalf("logout token does not verify: %v", err)
	}
	if tok.Header["typ"] != "logout+jwt" || tok.Header["kid"] == nil {
		i.t.Errorf("logout token header = %v, want typ logout+jwt and a kid", tok.Header)
	}
	events, _ := claims["events"].(map[string]any)
	if ev, ok := events[backchannelEvent].(map[string]any); !ok || len(ev) != 0 || len(events) != 1 {
		i.t.Errorf("events = %v, want {%q: {}}", claims["events"], backchannelEvent)
	}
	if _, ok := claims["nonce"]; ok {
		i.t.Errorf("logout token has a nonce: %v", claims)
	}
	if str(claims, "jti") == "" {
		i.t.Errorf("logout token has no jti: %v", claims)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if exp-iat != 120 {
		i.t.Errorf("exp - iat = %v, want 120s", exp-iat)
	}
	return claims
}

// logoutToken returns the logout token of a recorded POST, checking that it
// was a form POST.
func logoutToken(t *testing.T, post rpPost) string {
	t.Helper()
	if post.method != http.MethodPost || post.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("back-channel request: %s with Content-Type %q, want a form POST", post.method, post.contentType)
	}
	if len(post.form) != 1 || post.form.Get("logout_token") == "" {
		t.Fatalf("back-channel form = %v, want logout_token only", post.form)
	}
	return post.form.Get("logout_token")
}

func TestDiscoveryAdvertisesBackchannelLogout(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	d := p.getJSON("/.well-known/openid-configuration")
	for _, key := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported"} {
		if d[key] != true {
			t.Errorf("%s = %v, want true", key, d[key])
		}
	}
}

func TestIDTokenCarriesSessionID(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	tok, sid := p.signIn(webAuth, ada)

	status, next := p.refresh(str(tok, "refresh_token"), webAuth)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, next)
	}
	claims, _ := p.verifyIDToken(str(next, "id_token"), "RS256", webClient)
	if claims["sid"] != sid {
		t.Errorf("refreshed ID token sid = %v, want the login's %q", claims["sid"], sid)
	}

	status, info := p.userinfo(str(tok, "access_token"))
	if status != http.StatusOK {
		t.Fatalf("userinfo: %d %v", status, info)
	}
	if v, ok := info["sid"]; ok {
		t.Errorf("userinfo has sid = %v, want none", v)
	}

	if _, other := p.signIn(webAuth, ada); other == sid {
		t.Errorf("two logins share sid %q", sid)
	}
}

func TestEndSessionsSendsLogoutTokens(t *testing.T) {
	t.Parallel()
	r := newRP(t, nil)
	p := startWithRP(t, r, nil)
	webTok, sid := p.signIn(webAuth, ada)
	postTok, _ := p.signIn(postAuth, ada) // a client without a back-channel URI
	bobTok, _ := p.signIn(webAuth, bob)

	n, err := p.EndSessions(context.Background(), ada.Username)
	if err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v; want 1 delivered", n, err)
	}
	posts := r.got()
	if len(posts) != 1 {
		t.Fatalf("RP got %d back-channel requests, want 1", len(posts))
	}
	claims := p.verifyLogoutToken(logoutToken(t, posts[0]), webClient)
	if claims["sub"] != ada.ID || claims["sid"] != sid {
		t.Errorf("logout token sub, sid = %v, %v; want %s, %s", claims["sub"], claims["sid"], ada.ID, sid)
	}

	for name, tok := range map[string]map[string]any{"web": webTok, "post": postTok} {
		auth := map[string]clientAuth{"web": webAuth, "post": postAuth}[name]
		if status, body := p.refresh(str(tok, "refresh_token"), auth); status != http.StatusBadRequest || str(body, "error") != "invalid_grant" {
			t.Errorf("%s client's refresh after EndSessions: %d %v, want 400 invalid_grant", name, status, body)
		}
		if status, _ := p.userinfo(str(tok, "access_token")); status == http.StatusOK {
			t.Errorf("%s client's access token works after EndSessions", name)
		}
	}
	if status, body := p.refresh(str(bobTok, "refresh_token"), webAuth); status != http.StatusOK {
		t.Errorf("another user's refresh after EndSessions: %d %v", status, body)
	}
	if s := p.Stats(); s.BackchannelLogouts != 1 || s.BackchannelLogoutFailures != 0 {
		t.Errorf("Stats = %+v, want 1 back-channel logout and no failure", s)
	}

	// Ended sessions are gone: nothing is sent again.
	if n, err := p.EndSessions(context.Background(), ada.Username); err != nil || n != 0 || len(r.got()) != 1 {
		t.Errorf("EndSessions again = %d, %v with %d requests; want 0 and no new request", n, err, len(r.got()))
	}

	// A new login is a new session, with a new sid and a new jti.
	_, sid2 := p.signIn(webAuth, ada)
	if n, err := p.EndSessions(context.Background(), ada.Username); err != nil || n != 1 {
		t.Fatalf("EndSessions after a new login = %d, %v; want 1", n, err)
	}
	posts = r.got()
	if len(posts) != 2 {
		t.Fatalf("RP got %d back-channel requests, want 2", len(posts))
	}
	second := p.verifyLogoutToken(logoutToken(t, posts[1]), webClient)
	if second["sid"] != sid2 || second["sid"] == sid {
		t.Errorf("second logout token sid = %v, want %s", second["sid"], sid2)
	}
	if second["jti"] == claims["jti"] {
		t.Errorf("two logout tokens share jti %v", claims["jti"])
	}

	if _, err := p.EndSessions(context.Background(), "nobody"); err == nil {
		t.Error("EndSessions of an unknown user: no error")
	}
}

func TestEndSessionsRefusesPendingCode(t *testing.T) {
	t.Parallel()
	r := newRP(t, nil)
	p := startWithRP(t, r, nil)
	f := newFlow()
	code := p.login(webClient, callback, fullScope, f, ada)
	if n, err := p.EndSessions(context.Background(), ada.Username); err != nil || n != 0 {
		t.Fatalf("EndSessions = %d, %v; want 0 (the client has no tokens yet)", n, err)
	}
	if status, body := p.exchange(code, f.verifier, callback, webAuth); status != http.StatusBadRequest || str(body, "error") != "invalid_grant" {
		t.Errorf("code exchange after the session ended: %d %v, want 400 invalid_grant", status, body)
	}
	if len(r.got()) != 0 {
		t.Errorf("RP got %d back-channel requests, want none", len(r.got()))
	}
}

func TestEndSessionEndpointSendsLogoutToken(t *testing.T) {
	t.Parallel()
	r := newRP(t, nil)
	p := startWithRP(t, r, nil)
	tok, sid := p.signIn(webAuth, ada)
	other, _ := p.signIn(webAuth, ada) // another session of the same user

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"id_token_hint": {str(tok, "id_token")}, "post_logout_redirect_uri": {signedOut}}
	resp, err := noFollow.Get(p.Issuer() + "/end_session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != signedOut {
		t.Errorf("end_session: %s to %q, want 302 to %s", resp.Status, loc, signedOut)
	}

	posts := r.got()
	if len(posts) != 1 {
		t.Fatalf("RP got %d back-channel requests, want 1", len(posts))
	}
	claims := p.verifyLogoutToken(logoutToken(t, posts[0]), webClient)
	if claims["sub"] != ada.ID || claims["sid"] != sid {
		t.Errorf("logout token sub, sid = %v, %v; want %s, %s", claims["sub"], claims["sid"], ada.ID, sid)
	}
	if status, body := p.refresh(str(tok, "refresh_token"), webAuth); status != http.StatusBadRequest {
		t.Errorf("refresh of the ended session: %d %v, want 400", status, body)
	}
	if status, body := p.refresh(str(other, "refresh_token"), webAuth); status != http.StatusOK {
		t.Errorf("refresh of the user's other session: %d %v, want 200", status, body)
	}
	if s := p.Stats(); s.BackchannelLogouts != 1 {
		t.Errorf("BackchannelLogouts = %d, want 1", s.BackchannelLogouts)
	}
}

func TestBackchannelDeliveryFailures(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name   string
		answer http.HandlerFunc
		uri    string // instead of the recorder's
		ok     bool
	}{
		{name: "204 accepted", answer: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, ok: true},
		{name: "500", answer: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }},
		{name: "400", answer: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad token", http.StatusBadRequest) }},
		{name: "redirect not followed", answer: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusSeeOther) }},
		{name: "timeout", answer: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{name: "unreachable", uri: closed.URL + "/logout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRP(t, tt.answer)
			p := startWithRP(t, r, func(o *devidp.Options) {
				o.BackchannelClient = &http.Client{Timeout: 300 * time.Millisecond}
				if tt.uri != "" {
					o.Clients[0].BackchannelLogoutURI = tt.uri
				}
			})
			tok, _ := p.signIn(webAuth, ada)
			n, err := p.EndSessions(context.Background(), ada.Username)
			if err != nil {
				t.Fatal(err)
			}
			want := devidp.Stats{BackchannelLogouts: 0, BackchannelLogoutFailures: 1}
			if tt.ok {
				want = devidp.Stats{BackchannelLogouts: 1}
			}
			s := p.Stats()
			if n != int(want.BackchannelLogouts) || s.BackchannelLogouts != want.BackchannelLogouts || s.BackchannelLogoutFailures != want.BackchannelLogoutFailures {
				t.Errorf("EndSessions = %d, Stats %+v; want %d delivered, %d failed", n, s, want.BackchannelLogouts, want.BackchannelLogoutFailures)
			}
			if status, _ := p.refresh(str(tok, "refresh_token"), webAuth); status != http.StatusBadRequest {
				t.Errorf("refresh after EndSessions: %d, want 400 whatever the RP answered", status)
			}
			if tt.uri == "" && len(r.got()) != 1 {
				t.Errorf("RP got %d requests, want 1 (no retry, no redirect followed)", len(r.got()))
			}
		})
	}

	t.Run("end_session is not failed by the RP", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
		p := startWithRP(t, r, nil)
		tok, _ := p.signIn(webAuth, ada)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(p.Issuer() + "/end_session?" + url.Values{"id_token_hint": {str(tok, "id_token")}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != p.Issuer()+"/logged-out" {
			t.Errorf("end_session: %s to %q, want 302 to the logged-out page", resp.Status, resp.Header.Get("Location"))
		}
		if s := p.Stats(); len(r.got()) != 1 || s.BackchannelLogoutFailures != 1 || s.BackchannelLogouts != 0 {
			t.Errorf("%d requests, Stats %+v; want 1 request and 1 failure", len(r.got()), s)
		}
	})
}

func TestBackchannelClientOptions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		client  devidp.Client
		wantErr string
	}{
		{"relative URI", devidp.Client{BackchannelLogoutURI: "/logout"}, "back-channel logout URI"},
		{"fragment", devidp.Client{BackchannelLogoutURI: "https://rp.example.test/logout#x"}, "back-channel logout URI"},
		{"other scheme", devidp.Client{BackchannelLogoutURI: "ftp://rp.example.test/logout"}, "back-channel logout URI"},
		{"session required without URI", devidp.Client{BackchannelLogoutSessionRequired: true}, "needs a BackchannelLogoutURI"},
		{"http with query", devidp.Client{BackchannelLogoutURI: "http://127.0.0.1:9/logout?x=1"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			c.ID, c.Secret, c.RedirectURIs = "rp", "rp-secret", []string{callback}
			_, err := devidp.New(devidp.Options{Issuer: "http://127.0.0.1:9000", Algorithm: "ES256", Clients: []devidp.Client{c}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSignJWT(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			p := start(t, func(o *devidp.Options) { o.Algorithm = alg })
			in := map[string]any{
				"iss": p.Issuer(), "aud": webClient, "sub": ada.ID, "iat": float64(time.Now().Unix()),
				"nonce": "a logout token must not have one", "custom": []any{"a", "b"},
			}
			raw, err := p.SignJWT(map[string]any{"typ": "logout+jwt", "x-test": "yes"}, in)
			if err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			tok, err := jwt.ParseWithClaims(raw, claims, p.keyfunc(), jwt.WithValidMethods([]string{alg}))
			if err != nil {
				t.Fatalf("SignJWT's token does not verify: %v", err)
			}
			if tok.Header["typ"] != "logout+jwt" || tok.Header["x-test"] != "yes" || tok.Header["kid"] == nil {
				t.Errorf("header = %v, want typ, x-test and kid", tok.Header)
			}
			for k, v := range in {
				if joined(v) != joined(claims[k]) || (k != "custom" && claims[k] != v) {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}

			// The kid follows the signing key; a header may override it.
			if err := p.RotateKeys(); err != nil {
				t.Fatal(err)
			}
			rotated, err := p.SignJWT(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			tok2, err := jwt.Parse(rotated, p.keyfunc(), jwt.WithValidMethods([]string{alg}))
			if err != nil {
				t.Fatalf("token after RotateKeys does not verify: %v", err)
			}
			if tok2.Header["kid"] == tok.Header["kid"] || tok2.Header["typ"] != nil {
				t.Errorf("header after RotateKeys = %v, want a new kid and no typ", tok2.Header)
			}
			wrongKid, err := p.SignJWT(map[string]any{"kid": "no-such-key"}, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jwt.Parse(wrongKid, p.keyfunc(), jwt.WithValidMethods([]string{alg})); err == nil {
				t.Error("a token with an unknown kid verifies")
			}
		})
	}
}
