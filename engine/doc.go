// Package engine runs authflow strategies: it builds the authorize URL (with
// state, nonce and PKCE), runs the steps after the callback (token exchange,
// JWT verification, userinfo, ...), and later refreshes and revokes tokens.
//
//	set, _ := strategies.Load("strategies.json")
//	e, err := engine.New(set, engine.Options{})
//	s := e.Strategy("okta")
//	login, _ := s.NewLogin()                       // keep it server-side until the callback
//	http.Redirect(w, r, s.AuthCodeURL(login), 302)  // (AuthCodeURL returns an error too)
//	...
//	res, err := s.Exchange(ctx, login, r.URL.Query()) // res.User, res.Claims, res.Tokens
//
// Templates are compiled once, in New. Every outbound call takes the
// caller's context, runs under Options.StepTimeout and reads at most
// Options.MaxResponseBytes of the answer, through the injected HTTP client.
//
// Failures are typed where callers branch on them: *ProviderError for an
// OAuth 2.0 error answer (RFC 6749 §5.2) or the IdP's refusal at the
// callback, and the sentinels ErrInvalidToken, ErrUnreachable and
// ErrResponseTooLarge, all wrapped in a *StepError naming the step.
package engine
