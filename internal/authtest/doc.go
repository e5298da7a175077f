// Package authtest is authflow's test kit: a whole login, in process, in a
// few lines of a test.
//
// A Bench is a real OpenID provider (package devidp, built on zitadel/oidc's
// op package) behind an httptest server, with one or more authflow servers
// over TLS in front of it, so that cookies are Secure and __Host- prefixed
// as in production. Around them:
//
//   - a Clock shared by the engines, the servers and the memory store
//     (Advance it to expire sessions and tokens without sleeping);
//   - a LogBuffer holding the servers' JSON logs;
//   - a TokenRecorder, the engines' transport, which remembers every secret
//     crossing the back channel (AssertNoSecrets checks a page or a log for
//     them) and can Tamper with or Intercept the IdP's answers (a Rewriter
//     arms one rewrite at a time);
//   - Browsers: cookie jars that stop at every redirect and follow a login
//     through the IdP's login form.
//
// A Browser also works without a Bench, against any authflow in front of a
// devidp Provider (the demo, a server behind nginx): see NewBrowser. A
// LogBuffer collects any slog output, and Eventually waits for work that
// ends on its own time (a file watcher, a process starting).
//
// A test of a login and the session it makes:
//
//	func TestLogin(t *testing.T) {
//		t.Parallel()
//		b := authtest.New(t, authtest.Options{})
//		br := b.NewBrowser()
//		br.MustLogin("dev", authtest.Ada()) // through the IdP's login form
//		if p := br.Verify(); p.Status != http.StatusOK || p.Header.Get("X-Auth-User") != authtest.Ada().ID {
//			t.Fatalf("verify: %d %v", p.Status, p.Header)
//		}
//		b.Clock.Advance(25 * time.Hour) // past the session's lifetime
//		if p := br.Verify(); p.Status != http.StatusUnauthorized {
//			t.Errorf("verify after the lifetime: %d, want 401", p.Status)
//		}
//		b.AssertNoSecrets("logs", b.Logs.String())
//	}
//
// The package is internal: it follows authflow's own tests, and its names
// may change with them.
package authtest
