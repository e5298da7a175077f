package server

// A pending login travels in the browser, not in the Store: startLogin
// seals it (strategy, state, nonce, PKCE verifier, return_to, start time)
// with AES-256-GCM into a cookie of its own, so that an anonymous login
// start stores nothing server-side. Only the server can mint such a cookie
// and only the browser that started the login holds it, so the cookie is
// also the browser binding. The callback spends the state in the Store
// (spentKey, for what remains of the login timeout): a replayed callback
// is refused even with the cookie.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/authflow/authflow/store"
)

const (
	// hostPrefix is the cookie-name prefix browsers accept only on a
	// Secure, Path=/ cookie without Domain, set over https: a sibling
	// subdomain or a plain-http answer cannot plant such a cookie.
	hostPrefix = "__Host-"
	// loginCookieBase starts the name of every login cookie; a suffix
	// derived from the state tells parallel logins apart.
	loginCookieBase = "authflow_login_"

	// loginKeyName is the Store key of the AEAD key shared by every
	// instance on that Store. It expires after loginKeyTTL and is then
	// minted anew (a key rotation); loginKeyRecheck bounds how long an
	// instance keeps using a key without reading the Store's again.
	loginKeyName    = "login-key"
	loginKeyTTL     = 30 * 24 * time.Hour
	loginKeyRecheck = time.Minute
	// loginKeyForce: a cookie that opens with no known key makes the
	// instance read the Store's key again, at most this often.
	loginKeyForce = 5 * time.Second

	// maxLoginCookies and loginCookieBudget bound the login cookies one
	// browser carries (its pending logins), so that its Cookie header stays
	// under what browsers and proxies accept (nginx: 8 KiB a header line);
	// a new login drops the oldest ones.
	maxLoginCookies   = 5
	loginCookieBudget = 6 << 10
	// maxReturnTo bounds return_to (after normalisation), so that one login
	// cookie stays under browsers' 4 KiB limit.
	maxReturnTo = 2048
	// maxLoginCookieValue: longer values are not even decoded.
	maxLoginCookieValue = 4096
)

// loginAAD is the associated data of every login cookie: a key used for
// anything else never opens one.
var loginAAD = []byte("authflow login cookie v1")

// pendingLogin is a login between the redirect and the callback, sealed
// into its login cookie.
type pendingLogin struct {
	Strategy     string `json:"s"`
	State        string `json:"st"`
	Nonce        string `json:"n,omitempty"`
	CodeVerifier string `json:"v,omitempty"`
	ReturnTo     string `json:"r,omitempty"`
	Started      int64  `json:"t"` // Unix milliseconds, on Config.Now
	// Params are the login request's allow-listed parameters
	// (login_params), for ${login.NAME} in the login steps.
	Params map[string]string `json:"p,omitempty"`
}

func (p *pendingLogin) started() time.Time { return time.UnixMilli(p.Started) }

// cookieName is the name a cookie is sent under: base itself, or, when
// cookies are Secure, base with the __Host- prefix (unless it has one).
func (s *Server) cookieName(base string) string {
	return cookieName(base, !s.cfg.InsecureCookies)
}

func cookieName(base string, secure bool) string {
	if !secure || strings.HasPrefix(base, hostPrefix) || strings.HasPrefix(base, "__Secure-") {
		return base
	}
	return hostPrefix + base
}

// loginCookieName is the name of the login cookie of state.
func (s *Server) loginCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return s.cookieName(loginCookieBase) + base64.RawURLEncoding.EncodeToString(sum[:6])
}

// spentKey is the Store key that marks state as used, once its callback
// has come.
func spentKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "login-spent:" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// loginCookie returns the login cookie named name with value v; v == ""
// clears it.
func (s *Server) loginCookie(name, v string) *http.Cookie { return s.loginCookieFor(name, v, false) }

// loginCookieFor is loginCookie; with crossSite (a form_post strategy's
// login, whose callback is a cross-site POST from the IdP, which carries
// no Lax cookie) it is SameSite=None — still Secure, __Host-, HttpOnly,
// sealed and spent once. Browsers drop a SameSite=None cookie that is not
// Secure, so without Secure cookies it stays Lax.
func (s *Server) loginCookieFor(name, v string, crossSite bool) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: v, Path: "/", MaxAge: int(s.cfg.LoginTimeout / time.Second),
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode,
	}
	if crossSite && c.Secure {
		c.SameSite = http.SameSiteNoneMode
	}
	if v == "" {
		c.MaxAge = -1
	}
	return c
}

// seal returns p sealed with aead, base64url-encoded: nonce, then
// ciphertext and tag.
func seal(aead cipher.AEAD, p *pendingLogin) (string, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", err
	}
	out = aead.Seal(out, out, plain, loginAAD)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open returns the pending login sealed in v by one of aeads, or false
// when none of them sealed it (forged, altered, or another key's).
func open(aeads []cipher.AEAD, v string) (*pendingLogin, bool) {
	if len(v) > maxLoginCookieValue {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, false
	}
	for _, a := range aeads {
		if len(raw) < a.NonceSize()+a.Overhead() {
			continue
		}
		plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], loginAAD)
		if err != nil {
			continue
		}
		var p pendingLogin
		if json.Unmarshal(plain, &p) != nil {
			return nil, false
		}
		return &p, true
	}
	return nil, false
}

// loginKeys holds the AEADs that seal and open login cookies: Config's
// LoginKey, or the Store's shared key, read lazily and again every
// loginKeyRecheck; after the Store's key changed, the one before it still
// opens the logins it sealed.
type loginKeys struct {
	mu      sync.Mutex
	cur     cipher.AEAD
	prev    cipher.AEAD
	curRaw  []byte
	static  bool
	gen     int       // changes with cur
	checked time.Time // when the Store's key was last read
}

// loginAEADs returns the AEADs that open login cookies, the one that seals
// first. A key read more than maxAge ago is read again from the Store; if
// that fails, the cached key is used (and the Store asked again only after
// maxAge), while with no key yet, the error is returned and the next call
// tries again. gen changes whenever the sealing key does.
func (s *Server) loginAEADs(ctx context.Context, maxAge time.Duration) (aeads []cipher.AEAD, gen int, err error) {
	k := &s.logins
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur == nil && len(s.cfg.LoginKey) > 0 {
		aead, err := newLoginAEAD(s.cfg.LoginKey)
		if err != nil {
			return nil, 0, err
		}
		k.cur, k.static = aead, true
	}
	now := s.cfg.Now()
	if k.static || (k.cur != nil && now.Sub(k.checked) < maxAge) {
		return k.list(), k.gen, nil
	}
	raw, err := sharedLoginKey(ctx, s.cfg.Store)
	if err != nil {
		if k.cur == nil {
			return nil, 0, err
		}
		s.log.Warn("login key: reading the store's key failed; using the cached one", "error", err.Error())
		k.checked = now
		return k.list(), k.gen, nil
	}
	k.checked = now
	if !bytes.Equal(raw, k.curRaw) {
		aead, err := newLoginAEAD(raw)
		if err != nil {
			return nil, 0, err
		}
		k.prev, k.cur, k.curRaw = k.cur, aead, raw
		k.gen++
	}
	return k.list(), k.gen, nil
}

func (k *loginKeys) list() []cipher.AEAD {
	if k.prev == nil {
		return []cipher.AEAD{k.cur}
	}
	return []cipher.AEAD{k.cur, k.prev}
}

func newLoginAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("server: login key: %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("server: login key: %w", err)
	}
	return cipher.NewGCM(b)
}

// sharedLoginKey returns the Store's login key, minting it (SetNew: of
// instances racing, one wins and all read its key) when there is none.
func sharedLoginKey(ctx context.Context, st Store) ([]byte, error) {
	for range 3 {
		raw, err := st.Get(ctx, loginKeyName)
		if err == nil {
			return raw, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("server: login key: %w", err)
		}
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, err
		}
		ok, err := st.SetNew(ctx, loginKeyName, fresh, loginKeyTTL)
		if err != nil {
			return nil, fmt.Errorf("server: login key: %w", err)
		}
		if ok {
			return fresh, nil
		}
	}
	return nil, errors.New("server: login key: minted, but the store does not keep it")
}

// openLogin opens a login cookie's value: with the known keys, then, if
// none opens it, with the Store's key read again (another instance may
// have rotated it).
func (s *Server) openLogin(ctx context.Context, v string) (*pendingLogin, bool, error) {
	aeads, gen, err := s.loginAEADs(ctx, loginKeyRecheck)
	if err != nil {
		return nil, false, err
	}
	if p, ok := open(aeads, v); ok {
		return p, true, nil
	}
	again, regen, err := s.loginAEADs(ctx, loginKeyForce)
	if err != nil || regen == gen {
		return nil, false, nil
	}
	p, ok := open(again, v)
	return p, ok, nil
}

// pruneLoginCookies clears the request's login cookies that, with a new
// one of size n, exceed maxLoginCookies or loginCookieBudget: the oldest
// first, those that do not open before any.
func (s *Server) pruneLoginCookies(w http.ResponseWriter, r *http.Request, aeads []cipher.AEAD, n int) {
	type held struct {
		name    string
		size    int
		started int64
	}
	prefix := s.cookieName(loginCookieBase)
	var cs []held
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		h := held{name: c.Name, size: len(c.Name) + len(c.Value) + 2}
		if p, ok := open(aeads, c.Value); ok {
			h.started = p.Started
		}
		cs = append(cs, h)
	}
	if len(cs) == 0 {
		return
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].started > cs[j].started })
	kept, size := 1, n
	for _, c := range cs {
		if kept < maxLoginCookies && size+c.size <= loginCookieBudget {
			kept++
			size += c.size
			continue
		}
		http.SetCookie(w, s.loginCookie(c.name, ""))
	}
}
