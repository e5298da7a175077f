package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authflow/authflow/engine"
)

// tokenAt is the token step of tokenStep(authPost) sent to another path of
// the IdP, for a handler that misbehaves.
func tokenAt(path string) string {
	return postStep("token", "{{IDP}}"+path, authPost,
		`"grant_type": "${grant_type}", "code": "${auth.code}", "redirect_uri": "${redirect_uri}", "code_verifier": "${code_verifier}"`)
}

// wantNoSecrets fails the test when an error message carries a credential:
// the client secret or any of the given values (codes, tokens).
func wantNoSecrets(t *testing.T, err error, values ...string) {
	t.Helper()
	msg := err.Error()
	for _, v := range append([]string{testClientSecret}, values...) {
		if v != "" && strings.Contains(msg, v) {
			t.Errorf("error message leaks %q: %s", v, msg)
		}
	}
}

// respond returns a handler that answers with a status, Content-Type and
// body, with Content-Length.
func respond(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// TestTokenStepAnswers feeds the token step answers that must fail the
// login: OAuth error answers (with and without a 2xx status), HTML pages and
// broken JSON.
func TestTokenStepAnswers(t *testing.T) {
	t.Parallel()
	const loginPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><form method="post" action="/login"><input type="text" name="user"></form></body></html>`
	const proxyPage = `<html><head><meta charset="utf-8"><title>502 Bad Gateway</title></head>` +
		`<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>`
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantStep string                // default "token"
		wantPE   *engine.ProviderError // or
		wantErr  error
	}{
		{name: "OAuth error with 400",
			handler: respond(400, "application/json", `{"error":"invalid_grant","error_description":"The authorization code has expired"}`),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 400, Code: "invalid_grant", Description: "The authorization code has expired"}},
		{name: "OAuth error with 401",
			handler: respond(401, "application/json;charset=UTF-8", `{"error":"invalid_client"}`),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 401, Code: "invalid_client"}},
		{name: "GitHub-style error with 200",
			handler: respond(200, "application/json; charset=utf-8",
				`{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps"}`),
			wantPE: &engine.ProviderError{Step: "token", StatusCode: 200, Code: "bad_verification_code", Description: "The code passed is incorrect or expired."}},
		{name: "GitHub-style form-encoded error with 200",
			handler: respond(200, "application/x-www-form-urlencoded", "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 200, Code: "bad_verification_code", Description: "The code passed is incorrect or expired."}},
		{name: "Slack-style error with 200",
			handler: respond(200, "application/json; charset=utf-8", `{"ok":false,"error":"invalid_code"}`),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 200, Code: "invalid_code"}},
		{name: "HTML 500",
			handler: respond(500, "text/html", "<html><body><h1>Internal Server Error</h1></body></html>"),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 500}},
		{name: "HTML 502 from a proxy",
			handler: respond(502, "text/html", proxyPage),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 502}},
		{name: "plain text 503",
			handler: respond(503, "text/plain", "upstream connect error or disconnect/reset before headers"),
			wantPE:  &engine.ProviderError{Step: "token", StatusCode: 503}},
		{name: "HTML 200",
			handler: respond(200, "text/html", "<html><body>Please sign in</body></html>"),
			wantErr: engine.ErrBadResponse},
		{name: "HTML 200 with attributes",
			handler: respond(200, "text/html; charset=utf-8", loginPage),
			wantErr: engine.ErrBadResponse},
		{name: "broken JSON",
			handler: respond(200, "application/json", `{"access_token":"at-1",`),
			wantErr: engine.ErrBadResponse},
		{name: "empty 200: the next step misses the ID token",
			handler:  respond(200, "application/json", ""),
			wantStep: "jwt", wantErr: engine.ErrMissingValue},
		{name: "JSON without id_token: the next step misses it",
			handler:  respond(200, "application/json", `{"access_token":"at-1","token_type":"Bearer"}`),
			wantStep: "jwt", wantErr: engine.ErrMissingValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.handle("/t", tt.handler)
			s := p.strategy(t, stratFile("", tokenAt("/t"), jwtStepJWKS))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if err == nil {
				t.Fatalf("Exchange succeeded: %+v", res)
			}
			step := tt.wantStep
			if step == "" {
				step = "token"
			}
			wantStep(t, err, step)
			if tt.wantPE != nil {
				wantProviderError(t, err, *tt.wantPE)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			wantNoSecrets(t, err, cb.Get("code"), l.CodeVerifier)
		})
	}
}

// TestFormEncodedTokenAnswer: a form-encoded token answer (GitHub, older
// IdPs) becomes a JSON object that later steps read, and the numeric id a
// claim maps to sub is the subject.
func TestFormEncodedTokenAnswer(t *testing.T) {
	t.Parallel()
	const accessToken = "ghu_16C7e42F292c6912E7710c838347Ae178B4a"
	const refreshToken = "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498"
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "text/plain"} {
		t.Run(ct, func(t *testing.T) {
			p := newIDP(t)
			p.handle("POST /gh/token", func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				if r.PostForm.Get("client_secret") != testClientSecret || r.PostForm.Get("code") == "" {
					respond(200, "application/x-www-form-urlencoded", "error=incorrect_client_credentials")(w, r)
					return
				}
				respond(200, ct, "access_token="+accessToken+"&expires_in=28800&refresh_token="+refreshToken+
					"&refresh_token_expires_in=15811200&scope=repo%2Cgist&token_type=bearer")(w, r)
			})
			p.handle("GET /gh/user", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "token "+accessToken {
					writeOAuthError(w, 401, "bad_credentials", "Bad credentials")
					return
				}
				writeJSON(w, 200, map[string]any{"id": 1234567890123, "login": "octocat", "email": nil})
			})
			file := fileWith(keysWith("{{IDP}}/authorize?response_type=code&client_id=${client_id}&scope=${scope}", "read:user user:email"),
				`"claims": {"sub": "id", "login": "login", "scopes": "token.scope"}`,
				tokenAt("/gh/token"),
				`{"name": "jwt", "uri": "{{IDP}}/gh/user", "config": {"headers": {"Authorization": "token ${token.access_token}"}}}`)
			s := p.strategy(t, file)
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			want := engine.Tokens{AccessToken: accessToken, TokenType: "bearer", RefreshToken: refreshToken, Expiry: t0.Add(8 * time.Hour), Issued: t0}
			if res.Tokens != want {
				t.Errorf("Tokens = %+v\nwant     %+v (expires_in read from a form string)", res.Tokens, want)
			}
			if got := res.Subject(); got != "1234567890123" {
				t.Errorf("Subject() = %q, want %q", got, "1234567890123")
			}
			if res.Claims["login"] != "octocat" || res.Claims["scopes"] != "repo,gist" {
				t.Errorf("Claims = %v", res.Claims)
			}
		})
	}
}

// TestResponseSizeLimit pads the token answer to the limit and one byte
// past it, with and without Content-Length.
func TestResponseSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 4096
	tests := []struct {
		name    string
		size    int
		chunked bool
		wantErr bool
	}{
		{"exactly the limit, Content-Length", limit, false, false},
		{"exactly the limit, chunked", limit, true, false},
		{"one byte over, Content-Length", limit + 1, false, true},
		{"one byte over, chunked", limit + 1, true, true},
		{"far over, chunked", 40 * limit, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.update(func(c *idpConfig) {
				c.chunked = tt.chunked
				c.tokenHook = func(a map[string]any) {
					a["pad"] = ""
					b, _ := json.Marshal(a)
					a["pad"] = strings.Repeat("x", tt.size-len(b))
				}
			})
			s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS), func(o *engine.Options) { o.MaxResponseBytes = limit })
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("an answer of exactly MaxResponseBytes was refused: %v", err)
				}
				if res.Subject() != testSub {
					t.Errorf("Subject() = %q", res.Subject())
				}
				return
			}
			if !errors.Is(err, engine.ErrResponseTooLarge) {
				t.Fatalf("err = %v, want ErrResponseTooLarge", err)
			}
			wantStep(t, err, "token")
			if !strings.Contains(err.Error(), fmt.Sprint(limit)) {
				t.Errorf("message %q does not name the limit %d", err, limit)
			}
			wantNoSecrets(t, err, cb.Get("code"))
		})
	}
}

// stall returns a handler that (optionally) starts an answer and then
// waits for the client to give up.
func stall(startBody bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Read the request body: only then does the server notice the
		// client hanging up, and cancel r.Context().
		io.Copy(io.Discard, r.Body)
		if startBody {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// TestStepTimeout: an IdP that does not answer within StepTimeout is
// unreachable.
func TestStepTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		startBody bool
	}{{"no answer", false}, {"answer stalls mid-body", true}} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.handle("/slow", stall(tt.startBody))
			s := p.strategy(t, stratFile("", tokenAt("/slow"), jwtStepJWKS),
				func(o *engine.Options) { o.StepTimeout = 200 * time.Millisecond })
			l, cb := p.begin(t, s)
			_, err := s.Exchange(t.Context(), l, cb)
			if !errors.Is(err, engine.ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			wantStep(t, err, "token")
			wantNoSecrets(t, err, cb.Get("code"), l.CodeVerifier)
		})
	}
}

// TestUnreachable: a refused connection is ErrUnreachable.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p := newIDP(t)
	s := p.strategy(t, stratFile("", postStep("token", dead.URL+"/token", authPost, `"code": "${auth.code}"`), jwtStepJWKS))
	l, cb := p.begin(t, s)
	_, err := s.Exchange(t.Context(), l, cb)
	if !errors.Is(err, engine.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	wantStep(t, err, "token")
	if !strings.Contains(err.Error(), "POST "+dead.URL+"/token") {
		t.Errorf("message %q does not name the call", err)
	}
	wantNoSecrets(t, err, cb.Get("code"))
}

// TestErrorsHideSecrets fails a step whose URI carries the access token in
// its query, in every way a call can fail: the message must not repeat the
// token (nor the client secret, the code or the other tokens).
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const limit = 4096
	big := strings.Repeat("x", 2*limit)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tests := []struct {
		name    string
		base    string // where the userinfo step goes; "" for the IdP
		handler http.HandlerFunc
		wantErr error
	}{
		{"too large with Content-Length", "", respond(200, "application/json", `{"pad":"`+big+`"}`), engine.ErrResponseTooLarge},
		{"too large, chunked", "", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"pad":"`))
			w.(http.Flusher).Flush()
			w.Write([]byte(big + `"}`))
		}, engine.ErrResponseTooLarge},
		{"times out", "", stall(false), engine.ErrUnreachable},
		{"refused", dead.URL, nil, engine.ErrUnreachable},
		{"401", "", respond(401, "application/json", `{"error":"invalid_token"}`), nil},
		{"HTML 200", "", respond(200, "text/html", "<html>oops</html>"), engine.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			base := tt.base
			if base == "" {
				base = "{{IDP}}"
				p.handle("/ui", tt.handler)
			}
			s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS,
				`{"name": "userinfo", "uri": "`+base+`/ui?access_token=${token.access_token}"}`),
				func(o *engine.Options) {
					o.MaxResponseBytes = limit
					// Long enough for the token and jwt steps on a loaded
					// machine: only the userinfo step may fail.
					o.StepTimeout = time.Second
				})
			l, cb := p.begin(t, s)
			_, err := s.Exchange(t.Context(), l, cb)
			if err == nil {
				t.Fatal("Exchange succeeded")
			}
			wantStep(t, err, "userinfo")
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			ans := p.lastAnswer()
			wantNoSecrets(t, err, cb.Get("code"), l.CodeVerifier,
				ans["access_token"].(string), ans["refresh_token"].(string), ans["id_token"].(string))
		})
	}
}
