// Package engine runs authflow strategies: it builds the authorize URL (with
// state, nonce and PKCE), runs the steps after the callback (token exchange,
// JWT verification, userinfo, ...), and later refreshes and revokes tokens.
//
// It runs a plan that package strategies compiled and checked; New binds the
// plan to what only exists at run time: the environment (${env.NAME}), the
// HTTP client, the key sets and the hooks.
//
//	plan, err := strategies.Load("strategies.json") // the compile `authflow validate` runs
//	if err != nil { ... }
//	e, err := engine.New(plan, engine.Options{BaseURI: "https://app.example.com"})
//	if err != nil { ... }                            // an unset ${env.NAME}, no base_uri
//	defer e.Close()
//	s := e.Strategy("okta")
//
//	login := s.NewLogin()                            // keep it server-side until the callback
//	u, err := s.AuthCodeURL(login)
//	http.Redirect(w, r, u, http.StatusFound)
//	...
//	res, err := s.Exchange(ctx, login, r.URL.Query()) // at the callback: res.User, res.Claims, res.Tokens
//
// Logins outside a web server: a device login (RFC 8628) for a strategy
// with a device_uri, a loopback login (RFC 8252 §7.3) for a program on the
// user's machine, and the token of a client_credentials strategy, cached:
//
//	da, err := s.StartDevice(ctx)                     // show da.VerificationURIComplete
//	res, err := s.PollDevice(ctx, da)                 // until approved, denied or expired
//
//	lb, err := s.StartLoopback()                      // open lb.URL() in the browser
//	res, err := lb.Wait(ctx)
//
//	ts, err := e.Strategy("svc").TokenSource()        // keep and share it
//	tok, err := ts.AccessToken(ctx)                   // one fetch however many ask
//
// API clients' access tokens (strategies with "bearer") are checked by the
// engine as a whole, which picks the strategy by the token's issuer:
//
//	tok, err := e.VerifyBearer(ctx, token)           // tok.Subject, tok.Claims, tok.Scopes; err wraps ErrInvalidToken for a bad token
//
// Nothing is compiled here: templates were compiled once, by strategies.
// Every outbound call takes the caller's context, runs under
// Options.StepTimeout and reads at most Options.MaxResponseBytes of the
// answer, through the injected HTTP client.
//
// Failures are typed where callers branch on them: *ProviderError for an
// OAuth 2.0 error answer (RFC 6749 §5.2) or the IdP's refusal at the
// callback, with its ErrorCode, and the sentinels ErrInvalidToken,
// ErrUnreachable and ErrResponseTooLarge, all wrapped in a *StepError
// naming the step.
package engine
