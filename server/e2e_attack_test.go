package server_test

// Attacks on the login flow, run against the end-to-end bench: forged and
// replayed callbacks, login CSRF, tampered and replayed ID tokens, open
// redirects through return_to, session fixation, cookie attributes, the
// IdP's error answers and cross-site POSTs. Every refused login must end on
// authflow's error page (status >= 400) with a reference id whose log entry
// holds the cause, and must leave no session.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"

	"github.com/authflow/authflow/server"
	"github.com/tidwall/gjson"
)

// atkSetField returns the JSON object body with key set to v.
func atkSetField(t *testing.T, body []byte, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Errorf("token answer is not JSON: %v", err)
		return body
	}
	m[key] = v
	out, _ := json.Marshal(m)
	return out
}

// atkJWT splits a compact JWT; it fails the test unless there are 3 parts.
func atkJWT(t *testing.T, tok string) (header, payload, sig string) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a compact JWT: %.20q", tok)
	}
	return p[0], p[1], p[2]
}

func atkB64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// atkClaims decodes a JWT's payload.
func atkClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	_, p, _ := atkJWT(t, tok)
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}

func atkRandom() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// atkQuery returns raw (a URL) with the query parameters in set replaced
// (an empty value deletes the parameter).
func atkQuery(t *testing.T, raw string, set map[string]string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// atkParam returns a query parameter of raw (a URL).
func atkParam(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	v := u.Query().Get(name)
	if v == "" {
		t.Fatalf("%s has no %s", raw, name)
	}
	return v
}

// atkFailPage checks that p is authflow's error page with that status and
// text, showing a reference id whose log entry has the outcome (and step,
// when not ""), and returns that entry.
func atkFailPage(t *testing.T, b *authtest.Bench, p *authtest.Page, status int, text, outcome, step string) map[string]any {
	t.Helper()
	if p.Status != status {
		t.Errorf("status %d, want %d; Location %q; body: %.300s", p.Status, status, p.Location, p.Body)
	}
	if p.Location != "" {
		t.Errorf("the error answer redirects to %q", p.Location)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want an HTML page", ct)
	}
	if text != "" && !strings.Contains(p.Body, text) {
		t.Errorf("page does not say %q: %.300s", text, p.Body)
	}
	ref := p.Ref()
	if ref == "" {
		t.Errorf("the page shows no reference id: %.300s", p.Body)
		return nil
	}
	e := b.Logs.WithRef(ref)
	if e == nil {
		t.Errorf("no log entry carries the page's reference id %q", ref)
		return nil
	}
	if outcome != "" && e["outcome"] != outcome {
		t.Errorf("log entry %v: outcome %v, want %q", e, e["outcome"], outcome)
	}
	if step != "" && e["step"] != step {
		t.Errorf("log entry %v: step %v, want %q", e, e["step"], step)
	}
	if fmt.Sprint(e["status"]) != fmt.Sprint(status) && e["status"] != nil {
		t.Errorf("log entry %v: status %v, want %d", e, e["status"], status)
	}
	return e
}

// atkCause checks that a log entry's error names the cause.
func atkCause(t *testing.T, e map[string]any, cause string) {
	t.Helper()
	if e == nil {
		return
	}
	if msg, _ := e["error"].(string); !strings.Contains(strings.ToLower(msg), strings.ToLower(cause)) {
		t.Errorf("log entry's error %q does not name the cause %q", msg, cause)
	}
}

// atkNoSession fails unless br has no session.
func atkNoSession(t *testing.T, br *authtest.Browser) {
	t.Helper()
	if status, s := br.Session(); status != http.StatusUnauthorized {
		t.Errorf("/auth/session: %d %v, want 401 (no session)", status, s)
	}
}

// atkSessionOf fails unless br has a session of the user with that sub.
func atkSessionOf(t *testing.T, br *authtest.Browser, sub string) {
	t.Helper()
	status, s := br.Session()
	user, _ := s["user"].(map[string]any)
	if status != http.StatusOK || user["sub"] != sub {
		t.Errorf("/auth/session: %d %v, want a session of %s", status, s, sub)
	}
}

// atkBrowserWithSession returns a new browser whose jar holds only the
// session cookie value v.
func atkBrowserWithSession(b *authtest.Bench, v string) *authtest.Browser {
	br := b.NewBrowser()
	br.SetCookie(rsCookieName, v)
	return br
}

// atkCookie returns the Set-Cookie of that name in p, or nil.
func atkCookie(p *authtest.Page, name string) *http.Cookie {
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func atkGrants(b *authtest.Bench) int64 { return b.IdP.Stats().AuthorizationCodeGrants }

// TestAttackStateMismatch: a callback whose state names no pending login of
// this browser and strategy is refused before the code is redeemed.
func TestAttackStateMismatch(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	tests := []struct {
		name string
		// forge starts the logins it needs in br and returns the forged
		// callback URL and the genuine one.
		forge   func(t *testing.T, br *authtest.Browser) (forged, genuine string)
		outcome string
		step    string
		cause   string
		// grants: token requests the forged callback may cause.
		grants int64
		// genuineAfter: the genuine callback's status after the attack
		// (302: the login still completes).
		genuineAfter int
	}{
		{
			name: "state never issued",
			forge: func(t *testing.T, br *authtest.Browser) (string, string) {
				cb := br.SignIn(br.StartLogin("dev", ""), authtest.Ada())
				return atkQuery(t, cb, map[string]string{"state": atkRandom()}), cb
			},
			outcome: "state_mismatch", cause: "no pending login", genuineAfter: http.StatusFound,
		},
		{
			name: "no state",
			forge: func(t *testing.T, br *authtest.Browser) (string, string) {
				cb := br.SignIn(br.StartLogin("dev", ""), authtest.Ada())
				return atkQuery(t, cb, map[string]string{"state": ""}), cb
			},
			outcome: "state_mismatch", cause: "no pending login", genuineAfter: http.StatusFound,
		},
		{
			// The state of a devpost login sent to dev's callback. The
			// pending login is taken before the strategy is compared, so
			// the devpost login is spent too.
			name: "state of another strategy",
			forge: func(t *testing.T, br *authtest.Browser) (string, string) {
				cb := br.SignIn(br.StartLogin("devpost", ""), authtest.Ada())
				return strings.Replace(cb, "/auth/devpost/callback", "/auth/dev/callback", 1), cb
			},
			outcome: "state_mismatch", cause: "belongs to strategy devpost", genuineAfter: http.StatusBadRequest,
		},
		{
			// Two logins of one browser: login A's code with login B's
			// state. B's pending login (binding, strategy) matches, so the
			// code is sent with B's PKCE verifier, which the IdP refuses.
			name: "state of a parallel login",
			forge: func(t *testing.T, br *authtest.Browser) (string, string) {
				a := br.StartLogin("dev", "")
				other := atkParam(t, br.StartLogin("dev", ""), "state")
				cb := br.SignIn(a, authtest.Ada())
				return atkQuery(t, cb, map[string]string{"state": other}), cb
			},
			// B's pending login is spent; devidp (zitadel op) keeps A's code
			// after the refused verifier, so A's genuine callback completes.
			outcome: "invalid_grant", step: "token", cause: "code_verifier", grants: 1,
			genuineAfter: http.StatusFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := b.NewBrowser()
			forged, genuine := tt.forge(t, br)
			before := atkGrants(b)
			p := br.Get(forged)
			e := atkFailPage(t, b, p, http.StatusBadRequest, "expired", tt.outcome, tt.step)
			atkCause(t, e, tt.cause)
			if d := atkGrants(b) - before; d != tt.grants {
				t.Errorf("the forged callback made %d token requests, want %d", d, tt.grants)
			}
			atkNoSession(t, br)
			b.AssertNoSecrets("page", p.Body)

			g := br.Get(genuine)
			if g.Status != tt.genuineAfter {
				t.Errorf("genuine callback after the attack: %d to %q, want %d", g.Status, g.Location, tt.genuineAfter)
			}
			if tt.genuineAfter == http.StatusFound {
				atkSessionOf(t, br, authtest.Ada().ID)
			} else {
				atkFailPage(t, b, g, http.StatusBadRequest, "expired", "", "")
				atkNoSession(t, br)
			}
		})
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestAttackReplayedCallback: a callback URL that has served its login is
// refused on the state alone — the code is not sent to the IdP again — in
// any browser, even one holding the login's cookie (copied before the
// callback cleared it): the state is spent in the Store. The replay does
// not touch the existing session.
func TestAttackReplayedCallback(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	victim := b.NewBrowser()
	cb := victim.SignIn(victim.StartLogin("dev", ""), authtest.Ada())
	logins := atkLoginCookies(victim)
	if len(logins) != 1 {
		t.Fatalf("login cookies before the callback: %v, want 1", logins)
	}
	if p := victim.Get(cb); p.Status != http.StatusFound || p.Location != b.URL+"/app/" {
		t.Fatalf("login: %d to %q", p.Status, p.Location)
	}
	token := victim.Cookie(rsCookieName)
	if token == "" {
		t.Fatalf("after login: no session cookie")
	}
	if left := atkLoginCookies(victim); len(left) != 0 {
		t.Errorf("login cookies left after the callback: %v", left)
	}
	withLogin := func(br *authtest.Browser) *authtest.Browser {
		br.SetCookie(logins[0].Name, logins[0].Value)
		return br
	}
	tests := []struct {
		name    string
		browser func() *authtest.Browser
		// wantSub: the session the browser must still have ("" for none).
		wantSub string
		cause   string
	}{
		{"fresh browser", b.NewBrowser, "", "no login cookie"},
		{"fresh browser with the victim's login cookie", func() *authtest.Browser { return withLogin(b.NewBrowser()) }, "", "already completed"},
		{"same browser", func() *authtest.Browser { return victim }, authtest.Ada().ID, "no login cookie"},
		{"same browser with its login cookie put back", func() *authtest.Browser { return withLogin(victim) }, authtest.Ada().ID, "already completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := tt.browser()
			before := atkGrants(b)
			p := br.Get(cb)
			e := atkFailPage(t, b, p, http.StatusBadRequest, "expired", "state_mismatch", "")
			atkCause(t, e, "no pending login")
			atkCause(t, e, tt.cause)
			if atkCookie(p, rsCookieName) != nil {
				t.Errorf("the replay set a session cookie: %v", p.Header["Set-Cookie"])
			}
			if d := atkGrants(b) - before; d != 0 {
				t.Errorf("the replay sent the code to the IdP (%d token requests)", d)
			}
			if tt.wantSub == "" {
				atkNoSession(t, br)
			} else {
				atkSessionOf(t, br, tt.wantSub)
				if v := br.Cookie(rsCookieName); v != token {
					t.Errorf("the replay changed the session cookie")
				}
			}
			b.AssertNoSecrets("page", p.Body)
		})
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestAttackLoginCSRF: a callback URL carried from the browser that started
// the login (an attacker signed in as bob) to another one (the victim) is
// refused there: the victim holds no login cookie of that state that the
// server minted. The refused callback uses nothing up: the browser that
// started the login still completes it.
func TestAttackLoginCSRF(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	tests := []struct {
		name string
		// prepare gives the victim's browser its cookies, after the
		// attacker started its login.
		prepare func(t *testing.T, attacker, victim *authtest.Browser)
		cause   string
	}{
		{"no login cookie", func(*testing.T, *authtest.Browser, *authtest.Browser) {}, "another browser"},
		{"a login cookie of its own", func(t *testing.T, _, victim *authtest.Browser) {
			victim.StartLogin("dev", "") // a login of its own, never completed
			if len(atkLoginCookies(victim)) == 0 {
				t.Fatal("no login cookie after /auth/dev/login")
			}
		}, "another browser"},
		{"a forged login cookie under the state's name", func(t *testing.T, attacker, victim *authtest.Browser) {
			for _, c := range atkLoginCookies(attacker) {
				victim.SetCookie(c.Name, atkRandom())
			}
		}, "login cookie was not minted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attacker, victim := b.NewBrowser(), b.NewBrowser()
			cb := attacker.SignIn(attacker.StartLogin("dev", "/app/attacker"), authtest.Bob())
			tt.prepare(t, attacker, victim)
			atkVictimRefused(t, b, victim, cb, tt.cause)

			// Nothing was used up: the attacker's own browser completes its
			// own login.
			p := attacker.Get(cb)
			if p.Status != http.StatusFound || p.Location != b.URL+"/app/attacker" {
				t.Errorf("the attacker's own callback after the refused one: %d to %q; %.300s", p.Status, p.Location, p.Body)
			}
			atkSessionOf(t, attacker, authtest.Bob().ID)
			atkNoSession(t, victim)
		})
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestAttackTamperedIDToken: a man in the middle of the back channel
// rewrites the ID token of the token answer. Each forgery fails the jwt
// step: 502 "could not be verified", no session.
func TestAttackTamperedIDToken(t *testing.T) {
	t.Parallel()
	tp := authtest.NewRewriter("/oauth/token")
	b := authtest.New(t, authtest.Options{Tamper: tp.Tamper})

	// An ID token the IdP issued to another client (post-app), validly
	// signed by the same keys.
	other := b.NewBrowser()
	other.MustLogin("devpost", authtest.Ada())
	foreign := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "id_token").String()
	if aud := fmt.Sprint(atkClaims(t, foreign)["aud"]); !strings.Contains(aud, authtest.PostClient) {
		t.Fatalf("the devpost ID token's aud is %s", aud)
	}

	tests := []struct {
		name    string
		rewrite func(t *testing.T, tok string) string
		cause   string
	}{
		{"signature flipped", func(t *testing.T, tok string) string {
			h, p, s := atkJWT(t, tok)
			i := len(s) / 2
			c := byte('A')
			if s[i] == 'A' {
				c = 'B'
			}
			return h + "." + p + "." + s[:i] + string(c) + s[i+1:]
		}, "signature"},
		{"sub replaced, signature kept", func(t *testing.T, tok string) string {
			h, _, s := atkJWT(t, tok)
			claims := atkClaims(t, tok)
			claims["sub"] = authtest.Bob().ID
			claims["email"] = authtest.Bob().Email
			return h + "." + atkB64(claims) + "." + s
		}, "signature"},
		{"foreign audience", func(*testing.T, string) string { return foreign }, "audience"},
		{"alg none", func(t *testing.T, tok string) string {
			return atkB64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + atkB64(atkClaims(t, tok)) + "."
		}, "signing method"},
		{"alg HS256", func(t *testing.T, tok string) string {
			in := atkB64(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + atkB64(atkClaims(t, tok))
			m := hmac.New(sha256.New, []byte(b.IdPURL+"/keys"))
			m.Write([]byte(in))
			return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		}, "signing method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := b.NewBrowser()
			cb := br.SignIn(br.StartLogin("dev", ""), authtest.Ada())
			tp.Arm(func(body []byte) []byte {
				tok := gjson.GetBytes(body, "id_token").String()
				if tok == "" {
					t.Errorf("token answer without id_token")
					return body
				}
				return atkSetField(t, body, "id_token", tt.rewrite(t, tok))
			})
			p := br.Get(cb)
			applied := tp.Applied()
			tp.Arm(nil)
			if applied != 1 {
				t.Fatalf("the token answer was rewritten %d times, want 1", applied)
			}
			e := atkFailPage(t, b, p, http.StatusBadGateway, "could not be verified", "invalid_token", "jwt")
			atkCause(t, e, tt.cause)
			atkNoSession(t, br)
			b.AssertNoSecrets("page", p.Body)
		})
	}

	// The same bench, untampered, still signs in: the failures above came
	// from the forgeries.
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	atkSessionOf(t, br, authtest.Ada().ID)
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestAttackNonceReplay: a genuine ID token of an earlier login of the same
// client, replayed into a new login's token answer, is refused: its nonce
// is the earlier login's.
func TestAttackNonceReplay(t *testing.T) {
	t.Parallel()
	tp := authtest.NewRewriter("/oauth/token")
	b := authtest.New(t, authtest.Options{Tamper: tp.Tamper})
	for _, strategy := range []string{"dev", "devpublic"} {
		t.Run(strategy, func(t *testing.T) {
			first := b.NewBrowser()
			first.MustLogin(strategy, authtest.Ada())
			old := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "id_token").String()
			if atkClaims(t, old)["nonce"] == nil {
				t.Fatal("the recorded ID token has no nonce")
			}

			br := b.NewBrowser()
			cb := br.SignIn(br.StartLogin(strategy, ""), authtest.Ada())
			tp.Arm(func(body []byte) []byte { return atkSetField(t, body, "id_token", old) })
			p := br.Get(cb)
			applied := tp.Applied()
			tp.Arm(nil)
			if applied != 1 {
				t.Fatalf("the token answer was rewritten %d times, want 1", applied)
			}
			e := atkFailPage(t, b, p, http.StatusBadGateway, "could not be verified", "invalid_token", "jwt")
			atkCause(t, e, "nonce")
			atkNoSession(t, br)
			b.AssertNoSecrets("page", p.Body)
		})
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestReturnToOpenRedirect: return_to may only lead back to this origin;
// anything else is dropped and the login lands on signin_success.
func TestReturnToOpenRedirect(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	front, _ := url.Parse(b.URL)
	idp, _ := url.Parse(b.IdPURL)
	home := b.URL + "/app/"

	tests := []struct{ returnTo, want string }{
		// Hostile: another site, or a way of spelling one.
		{"https://evil.example/", home},
		{"//evil.example/", home},
		{"///evil.example/", home},
		{"/\\evil.example", home},
		{"\\\\evil", home},
		{"https:evil.example", home},
		{"javascript:alert(1)", home},
		{"data:text/html,<script>alert(1)</script>", home},
		{"/\r\nSet-Cookie:x=1", home},
		{"/\t/evil.example", home},
		{"https://" + idp.Host + "/app/", home},                    // 127.0.0.1, another port
		{"http://" + front.Host + "/app/x", home},                  // this host, wrong scheme
		{"https://" + front.Host + "@evil.example/app/", home},     // userinfo trick
		{"https://evil.example/" + b.URL + "/app/", home},          // origin in the path
		{"app/relative", home},                                     // not a path
		{"/" + strings.Repeat("a", 2100), home},                    // too long
		{"/%0d%0aSet-Cookie:x=1", b.URL + "/%0d%0aSet-Cookie:x=1"}, // stays escaped, same origin
		// Allowed: paths on this origin, absolute URLs reduced to their path.
		{"/app/x?y=1&z=2", b.URL + "/app/x?y=1&z=2"},
		{b.URL + "/app/abs", b.URL + "/app/abs"},
		{b.URL + "/app/abs?q=%2F%2Fx", b.URL + "/app/abs?q=%2F%2Fx"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40q", tt.returnTo), func(t *testing.T) {
			br := b.NewBrowser()
			p := br.Login("dev", authtest.Ada(), tt.returnTo)
			if p.Status != http.StatusFound || p.Location != tt.want {
				t.Errorf("return_to %q: %d to %q, want 302 to %q", tt.returnTo, p.Status, p.Location, tt.want)
			}
			for _, l := range p.Header.Values("Location") {
				if strings.ContainsAny(l, "\r\n") {
					t.Errorf("Location header holds CR/LF: %q", l)
				}
			}
			if c := atkCookie(p, "x"); c != nil {
				t.Errorf("return_to injected a cookie: %v", c)
			}
			atkSessionOf(t, br, authtest.Ada().ID)
		})
	}

	// The chooser keeps an allowed return_to in its links and drops a
	// hostile one.
	devLink := regexp.MustCompile(`href="(/auth/dev/login[^"]*)"`)
	chooser := func(t *testing.T, br *authtest.Browser, target string) string {
		t.Helper()
		p := br.Get(target)
		m := devLink.FindStringSubmatch(p.Body)
		if p.Status != http.StatusOK || m == nil {
			t.Fatalf("GET %s: %d, no link to /auth/dev/login: %.300s", target, p.Status, p.Body)
		}
		return html.UnescapeString(m[1])
	}
	// follow completes a login from a /auth/dev/login URL.
	follow := func(t *testing.T, br *authtest.Browser, login string) *authtest.Page {
		t.Helper()
		p := br.Get(login)
		if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, b.IdPURL+"/authorize?") {
			t.Fatalf("GET %s: %d to %q, want the IdP", login, p.Status, p.Location)
		}
		return br.Get(br.SignIn(p.Location, authtest.Ada()))
	}
	for _, tt := range []struct{ name, target, want string }{
		{"chooser, allowed", "/auth/login?return_to=" + url.QueryEscape("/app/x?y=1&z=2"), b.URL + "/app/x?y=1&z=2"},
		{"chooser, hostile", "/auth/login?return_to=" + url.QueryEscape("//evil.example/"), home},
		{"chooser, absolute on another host", "/auth/login?return_to=" + url.QueryEscape("https://evil.example/app/"), home},
		// nginx passes $request_uri unencoded: the whole rest is return_to.
		{"chooser, nginx form", "/auth/login?return_to=/app/a?x=1&y=2", b.URL + "/app/a?x=1&y=2"},
		{"chooser, nginx form, hostile", "/auth/login?return_to=//evil.example/a?x=1&y=2", home},
	} {
		t.Run(tt.name, func(t *testing.T) {
			br := b.NewBrowser()
			link := chooser(t, br, tt.target)
			if tt.want == home && strings.Contains(link, "return_to") {
				t.Errorf("the chooser kept a hostile return_to: %q", link)
			}
			p := follow(t, br, link)
			if p.Status != http.StatusFound || p.Location != tt.want {
				t.Errorf("%d to %q, want 302 to %q", p.Status, p.Location, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, rawQuery, want string }{
		{"login, nginx form", "return_to=/app/a?x=1&y=2", b.URL + "/app/a?x=1&y=2"},
		{"login, nginx form, escaped once", "return_to=%2Fapp%2Fa%3Fx%3D1%26y%3D2", b.URL + "/app/a?x=1&y=2"},
		{"login, nginx form, scheme-relative", "return_to=//evil.example/a?x=1&y=2", home},
		// Taken as nginx sends it, escapes stay escaped: a same-origin path
		// with a literal "%0d%0a" or "%5C" in it, never a header line or a
		// backslash a browser would read as "//".
		{"login, nginx form, CRLF stays escaped", "return_to=/%0d%0aSet-Cookie:x=1", b.URL + "/%0d%0aSet-Cookie:x=1"},
		{"login, nginx form, backslash stays escaped", "return_to=/%5Cevil.example", b.URL + "/%5Cevil.example"},
		{"login, nginx form, raw backslash", "return_to=/\\evil.example", home},
		{"login, not first", "x=1&return_to=%2Fapp%2Fb", b.URL + "/app/b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			br := b.NewBrowser()
			p := follow(t, br, "/auth/dev/login?"+tt.rawQuery)
			if p.Status != http.StatusFound || p.Location != tt.want {
				t.Errorf("?%s: %d to %q, want 302 to %q", tt.rawQuery, p.Status, p.Location, tt.want)
			}
		})
	}
	// Forward-auth's redirect form takes X-Forwarded-Uri through the same
	// filter.
	for _, tt := range []struct{ fwd, want string }{
		{"/app/x?y=1", b.URL + "/auth/login?return_to=" + url.QueryEscape("/app/x?y=1")},
		{"//evil.example/", b.URL + "/auth/login"},
		{"https://evil.example/", b.URL + "/auth/login"},
	} {
		t.Run("verify redirect "+tt.fwd, func(t *testing.T) {
			p := b.NewBrowser().Do(http.MethodGet, "/auth/verify?redirect=true", nil, http.Header{"X-Forwarded-Uri": {tt.fwd}})
			if p.Status != http.StatusFound || p.Location != tt.want {
				t.Errorf("%d to %q, want 302 to %q", p.Status, p.Location, tt.want)
			}
		})
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestParallelTabs: one browser starts three logins in three tabs (one
// login cookie each) and completes them in reverse order; each lands on
// its own return_to, and the session is the last completed login's.
func TestParallelTabs(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	br := b.NewBrowser()
	users := []struct {
		strategy string
		user     string
	}{{"dev", authtest.Bob().Username}, {"devpost", authtest.Ada().Username}, {"dev", authtest.Ada().Username}}
	var callbacks []string
	for i, u := range users {
		authz := br.StartLogin(u.strategy, fmt.Sprintf("/app/tab%d", i))
		who := authtest.Ada()
		if u.user == authtest.Bob().Username {
			who = authtest.Bob()
		}
		callbacks = append(callbacks, br.SignIn(authz, who))
	}
	pending := atkLoginCookies(br)
	if len(pending) != len(callbacks) {
		t.Fatalf("login cookies: %v, want one per tab", pending)
	}
	var tokens []string
	for i := len(callbacks) - 1; i >= 0; i-- {
		p := br.Get(callbacks[i])
		if want := fmt.Sprintf("%s/app/tab%d", b.URL, i); p.Status != http.StatusFound || p.Location != want {
			t.Errorf("tab %d: %d to %q, want 302 to %q; body %.300s", i, p.Status, p.Location, want, p.Body)
		}
		tokens = append(tokens, br.Cookie(rsCookieName))
		// Its own login cookie is gone; the other tabs' stay.
		if left := atkLoginCookies(br); len(left) != i {
			t.Errorf("tab %d: %d login cookies left, want %d", i, len(left), i)
		}
	}
	// tab 0 (bob, dev) completed last.
	status, s := br.Session()
	user, _ := s["user"].(map[string]any)
	if status != http.StatusOK || user["sub"] != authtest.Bob().ID || s["strategy"] != "dev" {
		t.Errorf("/auth/session: %d %v, want bob's dev session", status, s)
	}
	if v := br.Verify(); v.Status != http.StatusOK || v.Header.Get("X-Auth-User") != authtest.Bob().ID {
		t.Errorf("/auth/verify: %d %v", v.Status, v.Header)
	}
	// Each login renewed the session token; the earlier ones are dead.
	for i := 0; i < len(tokens)-1; i++ {
		if tokens[i] == tokens[len(tokens)-1] {
			t.Errorf("login %d did not renew the session token", i)
		}
		atkNoSession(t, atkBrowserWithSession(b, tokens[i]))
	}
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestCookieAttributes: the login and session cookies are HttpOnly,
// Secure, SameSite=Lax, Path=/, host-only, and named with the __Host-
// prefix (which requires those); a login cookie lives for the login
// timeout and is cleared by its callback; the session token is renewed at
// each login; InsecureCookies drops Secure and the prefix only.
func TestCookieAttributes(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, c *http.Cookie, name string, secure bool) {
		t.Helper()
		if c == nil {
			t.Errorf("no Set-Cookie %s", name)
			return
		}
		if !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s: HttpOnly=%v Secure=%v SameSite=%v Path=%q Domain=%q; want HttpOnly, Secure=%v, Lax, Path=/, host-only (%s)",
				name, c.HttpOnly, c.Secure, c.SameSite, c.Path, c.Domain, secure, c.Raw)
		}
		if len(c.Value) < 32 {
			t.Errorf("cookie %s: value %q is short", name, c.Value)
		}
	}
	// loginCookie returns the one login cookie p sets, named prefix + a
	// suffix.
	loginCookie := func(t *testing.T, p *authtest.Page, prefix string) *http.Cookie {
		t.Helper()
		var found []*http.Cookie
		for _, c := range p.Cookies() {
			if strings.Contains(c.Name, "authflow_login") {
				found = append(found, c)
			}
		}
		if len(found) != 1 || !strings.HasPrefix(found[0].Name, prefix) || len(found[0].Name) == len(prefix) {
			t.Errorf("login cookies set: %v, want one named %s…", p.Header.Values("Set-Cookie"), prefix)
			return nil
		}
		return found[0]
	}
	for _, tt := range []struct {
		name    string
		secure  bool
		session string // the session cookie's name
		login   string // the login cookies' name prefix
	}{
		{"secure", true, rsCookieName, "__Host-authflow_login_"},
		{"insecure", false, "authflow_session", "authflow_login_"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{Config: func(c *server.Config) { c.InsecureCookies = !tt.secure }})
			br := b.NewBrowser()

			p := br.Get("/auth/dev/login")
			if p.Status != http.StatusFound {
				t.Fatalf("/auth/dev/login: %d", p.Status)
			}
			bind := loginCookie(t, p, tt.login)
			if bind != nil {
				check(t, bind, bind.Name, tt.secure)
				if bind.MaxAge != 600 {
					t.Errorf("login cookie Max-Age %d, want 600 (the login timeout): %s", bind.MaxAge, bind.Raw)
				}
			}

			p = br.Get(br.SignIn(p.Location, authtest.Ada()))
			if p.Status != http.StatusFound {
				t.Fatalf("callback: %d %.300s", p.Status, p.Body)
			}
			if bind != nil {
				if c := atkCookie(p, bind.Name); c == nil || c.MaxAge >= 0 {
					t.Errorf("the callback does not clear its login cookie %s: %v", bind.Name, p.Header.Values("Set-Cookie"))
				}
			}
			sess := atkCookie(p, tt.session)
			check(t, sess, tt.session, tt.secure)
			atkSessionOf(t, br, authtest.Ada().ID)

			// A second login renews the token; the first one is dead.
			first := br.Cookie(tt.session)
			p = br.Login("dev", authtest.Bob(), "")
			if p.Status != http.StatusFound {
				t.Fatalf("second login: %d", p.Status)
			}
			check(t, atkCookie(p, tt.session), tt.session, tt.secure)
			second := br.Cookie(tt.session)
			if second == "" || second == first {
				t.Errorf("the session token was not renewed at login: %q then %q", first, second)
			}
			atkSessionOf(t, br, authtest.Bob().ID)
			old := b.NewBrowser()
			old.SetCookie(tt.session, first)
			atkNoSession(t, old)
			b.AssertNoSecrets("logs", b.Logs.String())
		})
	}
}

// TestAttackSessionFixation: a session cookie planted before login (made up,
// or the attacker's own live session) is replaced at login, and the planted
// value gives the attacker nothing.
func TestAttackSessionFixation(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	t.Run("made-up value", func(t *testing.T) {
		planted := atkRandom()
		victim := b.NewBrowser()
		victim.SetCookie(rsCookieName, planted)
		victim.MustLogin("dev", authtest.Ada())
		if v := victim.Cookie(rsCookieName); v == "" || v == planted {
			t.Errorf("session cookie after login is %q (planted %q)", v, planted)
		}
		atkSessionOf(t, victim, authtest.Ada().ID)
		atkNoSession(t, atkBrowserWithSession(b, planted))
	})
	t.Run("attacker's live session", func(t *testing.T) {
		attacker := b.NewBrowser()
		attacker.MustLogin("dev", authtest.Bob())
		planted := attacker.Cookie(rsCookieName)
		victim := atkBrowserWithSession(b, planted)
		atkSessionOf(t, victim, authtest.Bob().ID) // the plant works...
		victim.MustLogin("dev", authtest.Ada())
		if v := victim.Cookie(rsCookieName); v == "" || v == planted {
			t.Errorf("session cookie after login is %q (planted %q)", v, planted)
		}
		atkSessionOf(t, victim, authtest.Ada().ID)
		// ...but the attacker does not ride the victim's session.
		status, s := attacker.Session()
		if status != http.StatusUnauthorized {
			t.Errorf("attacker's /auth/session after the victim's login: %d %v, want 401", status, s)
		}
		if v := attacker.Verify(); v.Status != http.StatusUnauthorized {
			t.Errorf("attacker's /auth/verify: %d %v", v.Status, v.Header)
		}
	})
	b.AssertNoSecrets("logs", b.Logs.String())
}

// atkStrategies returns the bench's strategy file with old replaced by new
// (exactly once: the first occurrence, in the dev strategy).
func atkStrategies(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(authtest.DefaultStrategies, old) {
		t.Fatalf("defaultStrategies has no %q", old)
	}
	return strings.Replace(authtest.DefaultStrategies, old, new, 1)
}

// atkClosedPort returns an address on 127.0.0.1 nothing listens on.
func atkClosedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestIdPErrorPages: the IdP's refusals and failures end on friendly pages
// that show neither the IdP's error_description nor any secret.
func TestIdPErrorPages(t *testing.T) {
	t.Parallel()
	const desc = "SECRET-DESCRIPTION-the-user-clicked-no"

	t.Run("access_denied", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{})
		br := b.NewBrowser()
		state := atkParam(t, br.StartLogin("dev", ""), "state")
		cb := b.URL + "/auth/dev/callback?" + url.Values{"error": {"access_denied"}, "error_description": {desc}, "state": {state}}.Encode()
		before := atkGrants(b)
		p := br.Get(cb)
		e := atkFailPage(t, b, p, http.StatusForbidden, "cancelled", "access_denied", "authorize")
		atkCause(t, e, desc) // the description is for the log
		if strings.Contains(p.Body, desc) || strings.Contains(p.Body, "SECRET") {
			t.Errorf("the page shows the IdP's error_description")
		}
		if atkGrants(b) != before {
			t.Errorf("an error callback reached the token endpoint")
		}
		atkNoSession(t, br)
		b.AssertNoSecrets("page", p.Body)
		b.AssertNoSecrets("logs", b.Logs.String())
	})

	t.Run("error with a state never issued", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{})
		br := b.NewBrowser()
		br.StartLogin("dev", "")
		cb := b.URL + "/auth/dev/callback?" + url.Values{"error": {"access_denied"}, "error_description": {desc}, "state": {atkRandom()}}.Encode()
		p := br.Get(cb)
		atkFailPage(t, b, p, http.StatusBadRequest, "expired", "state_mismatch", "")
		if strings.Contains(p.Body, desc) || strings.Contains(b.Logs.String(), desc) {
			t.Errorf("an unauthenticated error answer's description was shown or logged")
		}
		atkNoSession(t, br)
		b.AssertNoSecrets("page", p.Body)
		b.AssertNoSecrets("logs", b.Logs.String())
	})

	// Failures at the token endpoint, each from a broken strategy file.
	closed := atkClosedPort(t)
	tests := []struct {
		name       string
		strategies func(t *testing.T) string
		secret     string // a secret the strategy holds that the recorder cannot see
		status     int
		text       string
		outcome    string
		cause      string
	}{
		{
			name: "wrong client secret",
			strategies: func(t *testing.T) string {
				return atkStrategies(t, `"client_secret": "${env.BASIC_SECRET}"`, `"client_secret": "wrong-basic-secret-literal"`)
			},
			secret: "wrong-basic-secret-literal",
			status: http.StatusBadGateway, text: "credentials", outcome: "invalid_client", cause: "invalid_client",
		},
		{
			name: "redirect_uri mismatch at the token endpoint",
			strategies: func(t *testing.T) string {
				return atkStrategies(t, `"redirect_uri": "${redirect_uri}"`, `"redirect_uri": "${redirect_uri}/elsewhere"`)
			},
			status: http.StatusBadGateway, text: "redirect URI", outcome: "redirect_uri_mismatch", cause: "redirect_uri",
		},
		{
			name: "IdP unreachable",
			strategies: func(t *testing.T) string {
				return atkStrategies(t, `"uri": "${idp}/oauth/token"`, `"uri": "http://`+closed+`/oauth/token"`)
			},
			status: http.StatusGatewayTimeout, text: "not answering", outcome: "unreachable", cause: "unreachable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := authtest.New(t, authtest.Options{Strategies: tt.strategies(t)})
			if tt.secret != "" {
				b.Tokens.Add(tt.secret)
			}
			br := b.NewBrowser()
			p := br.Login("dev", authtest.Ada(), "")
			e := atkFailPage(t, b, p, tt.status, tt.text, tt.outcome, "token")
			atkCause(t, e, tt.cause)
			if d := gjson.GetBytes(b.Tokens.Last("/oauth/token"), "error_description").String(); d != "" && strings.Contains(p.Body, d) {
				t.Errorf("the page shows the IdP's error_description %q", d)
			}
			if strings.Contains(p.Body, closed) || strings.Contains(p.Body, b.IdPURL) {
				t.Errorf("the page names the IdP's address")
			}
			atkNoSession(t, br)
			b.AssertNoSecrets("page", p.Body)
			b.AssertNoSecrets("logs", b.Logs.String())
		})
	}

	// A redirect_path the IdP does not know: the IdP refuses at its
	// authorize endpoint and, as RFC 6749 §4.1.2.1 requires, does not
	// redirect to the unverified URI: the browser never comes back.
	t.Run("redirect_uri unknown to the IdP", func(t *testing.T) {
		t.Parallel()
		b := authtest.New(t, authtest.Options{Strategies: atkStrategies(t, `"client_id": "basic-app",`,
			`"client_id": "basic-app", "redirect_path": "/auth/dev/unregistered",`)})
		br := b.NewBrowser()
		authz := br.StartLogin("dev", "")
		if ru := atkParam(t, authz, "redirect_uri"); ru != b.URL+"/auth/dev/unregistered" {
			t.Fatalf("redirect_uri %q", ru)
		}
		logins := b.IdP.Stats().Logins
		back, err := b.IdP.Login(t.Context(), nil, authz, authtest.Ada().Username, authtest.Ada().Password)
		if err == nil {
			t.Fatalf("the IdP accepted an unregistered redirect_uri and sent the browser to %s", back)
		}
		if b.IdP.Stats().Logins != logins {
			t.Errorf("the IdP signed the user in")
		}
		atkNoSession(t, br)
	})
}

// TestCrossSiteSignout: state-changing POSTs from another site are refused
// and the session survives them.
func TestCrossSiteSignout(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	front, _ := url.Parse(b.URL)
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	with := func(kv ...string) http.Header {
		h := form.Clone()
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		header http.Header
	}{
		{"Origin of another site", with("Origin", "https://evil.example")},
		{"no Origin, no Referer", form},
		{"Referer of another site", with("Referer", "https://evil.example/page")},
		{"Referer on a look-alike host", with("Referer", b.URL+".evil.example/")},
		{"Origin null", with("Origin", "null")},
		{"Origin null, cross-site fetch", with("Origin", "null", "Sec-Fetch-Site", "cross-site", "Referer", b.URL+"/")},
		{"same-site, not same-origin", with("Sec-Fetch-Site", "same-site")},
		{"this host over http", with("Origin", "http://"+front.Host)},
		{"Origin of another site, own Referer", with("Origin", "https://evil.example", "Referer", b.URL+"/app/")},
	}
	revocations := b.IdP.Stats().Revocations
	refreshes := b.IdP.Stats().RefreshTokenGrants
	for _, tt := range tests {
		t.Run("signout/"+tt.name, func(t *testing.T) {
			p := br.Do(http.MethodPost, "/auth/signout", strings.NewReader(""), tt.header)
			atkFailPage(t, b, p, http.StatusForbidden, "did not come from this site", "", "")
			if e := b.Logs.WithRef(p.Ref()); e != nil && !strings.Contains(fmt.Sprint(e["msg"]), "cross-site") {
				t.Errorf("log entry %v does not name the cause", e)
			}
			atkSessionOf(t, br, authtest.Ada().ID)
		})
		t.Run("refresh/"+tt.name, func(t *testing.T) {
			p := br.Do(http.MethodPost, "/auth/refresh", strings.NewReader(""), tt.header)
			if p.Status != http.StatusForbidden {
				t.Errorf("POST /auth/refresh: %d %s, want 403", p.Status, p.Body)
			}
			atkSessionOf(t, br, authtest.Ada().ID)
		})
	}
	t.Run("signout by GET", func(t *testing.T) {
		p := br.Get("/auth/signout")
		if p.Status < 400 {
			t.Errorf("GET /auth/signout: %d to %q", p.Status, p.Location)
		}
		atkSessionOf(t, br, authtest.Ada().ID)
	})
	if s := b.IdP.Stats(); s.Revocations != revocations || s.RefreshTokenGrants != refreshes {
		t.Errorf("refused requests reached the IdP: %d revocations, %d refreshes", s.Revocations-revocations, s.RefreshTokenGrants-refreshes)
	}

	// Control: the same POST from this origin signs out.
	p := br.Post("/auth/signout")
	if p.Status != http.StatusSeeOther || p.Location != b.URL+"/signed-out" {
		t.Errorf("same-origin sign-out: %d to %q", p.Status, p.Location)
	}
	atkNoSession(t, br)
	b.AssertNoSecrets("logs", b.Logs.String())
}

// TestReturnToNginxEscapes: nginx passes $request_uri as it came, escapes
// and all ("return_to=$request_uri", docs/forward-auth.md). The page the
// user asked for must come back unchanged: an escaped '&', '=', '+', '#'
// or '?' in its query or path must stay escaped, or the application sees
// other parameters (or loses the rest of the query to a fragment).
func TestReturnToNginxEscapes(t *testing.T) {
	t.Parallel()
	b := authtest.New(t, authtest.Options{})
	for _, uri := range []string{
		"/app/search?q=a%26b%3Dc",    // q is "a&b=c"
		"/app/search?q=c%2B%2B",      // q is "c++"
		"/app/doc?title=C%23&page=2", // title is "C#"
		"/app/what%3F",               // a path holding "?"
		"/app/pct?v=100%25",          // v is "100%"
	} {
		t.Run(uri, func(t *testing.T) {
			br := b.NewBrowser()
			p := br.Get("/auth/dev/login?return_to=" + uri)
			if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, b.IdPURL+"/authorize?") {
				t.Fatalf("%d to %q", p.Status, p.Location)
			}
			p = br.Get(br.SignIn(p.Location, authtest.Ada()))
			if want := b.URL + uri; p.Status != http.StatusFound || p.Location != want {
				t.Errorf("nginx return_to=%s: %d to %q, want 302 to %q", uri, p.Status, p.Location, want)
			}
		})
	}
}

// atkVictimRefused opens the attacker's callback cb in the victim's
// browser and checks that it ends on the "expired" page with cause in the
// log, with no session, no code sent to the IdP and no secret on the page.
func atkVictimRefused(t *testing.T, b *authtest.Bench, victim *authtest.Browser, cb, cause string) {
	t.Helper()
	before := atkGrants(b)
	p := victim.Get(cb)
	e := atkFailPage(t, b, p, http.StatusBadRequest, "expired", "state_mismatch", "")
	atkCause(t, e, cause)
	atkNoSession(t, victim)
	if d := atkGrants(b) - before; d != 0 {
		t.Errorf("the victim's callback sent the code to the IdP (%d token requests)", d)
	}
	b.AssertNoSecrets("page", p.Body)
}
