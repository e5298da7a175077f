package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authflow/authflow/engine"
)

// This file attacks how a step reads a 2xx answer (issue #10, items 6 and
// 15): an error reported inside a 2xx body must fail the step like a
// non-2xx answer, and a JSON answer must have one reading, whichever
// parser reads it.

// userStepAt is an HTTP user step ("jwt") reading path on the IdP, with
// extra fields (JSON members, may be "").
func userStepAt(path, extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return `{"name": "jwt", "uri": "{{IDP}}` + path + `", "config": {"headers": {"Authorization": "Bearer ${token.access_token}"}}` + extra + `}`
}

// TestErrorInSuccessAnswer: a 2xx answer that reports an error fails the
// step with a *ProviderError, as a non-2xx answer does: an "error" member
// of any type but null, "", false and 0, or the value error_path names.
func TestErrorInSuccessAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		errorPath string // the user step's error_path; "" for none
		body      string // the user step's 200 answer
		wantPE    *engine.ProviderError
	}{
		{name: "error object", body: `{"sub": "u-1", "error": {"code": 1, "message": "quota"}}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Description: `{"code":1,"message":"quota"}`}},
		{name: "error number", body: `{"sub": "u-1", "error": 190}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Code: "190"}},
		{name: "error true", body: `{"sub": "u-1", "error": true}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Code: "true"}},
		{name: "error array", body: `{"sub": "u-1", "error": ["bad"]}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Description: `["bad"]`}},
		{name: "error string next to data", body: `{"sub": "u-1", "error": "invalid_token", "error_description": "expired"}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Code: "invalid_token", Description: "expired"}},
		{name: "WeChat errcode", errorPath: "errcode", body: `{"errcode": 40001, "errmsg": "invalid credential"}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Code: "40001"}},
		{name: "errcode as a string", errorPath: "errcode", body: `{"sub": "u-1", "errcode": "E42"}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Code: "E42"}},
		{name: "nested error path", errorPath: "meta.error", body: `{"sub": "u-1", "meta": {"error": {"type": "OAuthException"}}}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Description: `{"type":"OAuthException"}`}},
		{name: "error_path true", errorPath: "failed", body: `{"sub": "u-1", "failed": true}`,
			wantPE: &engine.ProviderError{Step: "jwt", StatusCode: 200, Code: "true"}},

		// No error reported: the login succeeds.
		{name: "error null", body: `{"sub": "u-1", "error": null}`},
		{name: "error empty", body: `{"sub": "u-1", "error": ""}`},
		{name: "error false", body: `{"sub": "u-1", "error": false}`},
		{name: "error 0", body: `{"sub": "u-1", "error": 0}`},
		{name: "errcode 0", errorPath: "errcode", body: `{"sub": "u-1", "errcode": 0, "errmsg": "ok"}`},
		{name: "errcode empty", errorPath: "errcode", body: `{"sub": "u-1", "errcode": ""}`},
		{name: "errcode false", errorPath: "errcode", body: `{"sub": "u-1", "errcode": false}`},
		{name: "errcode null", errorPath: "errcode", body: `{"sub": "u-1", "errcode": null}`},
		{name: "errcode absent", errorPath: "errcode", body: `{"sub": "u-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.handle("GET /me", respond(200, "application/json", tt.body))
			extra := ""
			if tt.errorPath != "" {
				extra = `"error_path": "` + tt.errorPath + `"`
			}
			s := p.strategy(t, stratFile("", tokenStep(authPost), userStepAt("/me", extra)))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if tt.wantPE == nil {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if res.Subject() != "u-1" {
					t.Errorf("Subject() = %q, want u-1", res.Subject())
				}
				return
			}
			if err == nil {
				t.Fatalf("error answer taken for the user object: %s", res.User)
			}
			wantStep(t, err, "jwt")
			wantProviderError(t, err, *tt.wantPE)
		})
	}
}

// TestErrorInSuccessTokenAnswer: at the token step, an "error" fails the
// step even when the answer also holds an access_token.
func TestErrorInSuccessTokenAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		wantPE engine.ProviderError
	}{
		{"error object", `{"error": {"code": 1}}`, engine.ProviderError{Step: "token", StatusCode: 200, Description: `{"code":1}`}},
		{"error with an access_token", `{"access_token": "at-1", "token_type": "Bearer", "error": "invalid_grant", "error_description": "replayed"}`,
			engine.ProviderError{Step: "token", StatusCode: 200, Code: "invalid_grant", Description: "replayed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			p.handle("/t", respond(200, "application/json", tt.body))
			s := p.strategy(t, stratFile("", tokenAt("/t"), jwtStepJWKS))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if err == nil {
				t.Fatalf("Exchange succeeded: %+v", res)
			}
			wantStep(t, err, "token")
			wantProviderError(t, err, tt.wantPE)
		})
	}
}

// TestErrorInSuccessRefreshAnswer: a refresh answer reporting an error in
// a 200 fails the refresh and keeps the old tokens.
func TestErrorInSuccessRefreshAnswer(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.handle("POST /r", respond(200, "application/json", `{"access_token": "at-new", "errcode": 42001}`))
	s := p.strategy(t, stratFile("", tokenStep(authPost), jwtStepJWKS,
		`{"name": "refresh", "uri": "{{IDP}}/r", "method": "POST", "error_path": "errcode", "form": {"refresh_token": "${refresh_token}"}}`))
	l, cb := p.begin(t, s)
	res, err := s.Exchange(t.Context(), l, cb)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	got, err := s.Refresh(t.Context(), res.Tokens)
	if err == nil {
		t.Fatalf("Refresh took an error answer: %+v", got)
	}
	wantStep(t, err, "refresh")
	wantProviderError(t, err, engine.ProviderError{Step: "refresh", StatusCode: 200, Code: "42001"})
	if got != res.Tokens {
		t.Errorf("Refresh changed the tokens on failure: %+v", got)
	}
}

// TestDuplicateKeysRefused: gjson reads the first of two equal keys,
// encoding/json the last, so a document that names a key twice has two
// readings (X-Auth-User from one, /auth/session from the other). Such an
// answer fails the step, at any depth, whatever the key's escaping.
func TestDuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		ct      string // default application/json
		wantMsg string // "" when the answer must be accepted
	}{
		{name: "sub twice", body: `{"sub": "alice", "email": "a@x.test", "sub": "bob"}`, wantMsg: `duplicate key "sub"`},
		{name: "sub twice, once escaped", body: `{"sub": "alice", "s\u0075b": "bob"}`, wantMsg: `duplicate key "sub"`},
		{name: "in a nested object", body: `{"sub": "alice", "profile": {"email": "a@x.test", "email": "b@x.test"}}`, wantMsg: `duplicate key "email"`},
		{name: "in an object in an array", body: `{"sub": "alice", "emails": [{"primary": true, "primary": false}]}`, wantMsg: `duplicate key "primary"`},
		{name: "invalid UTF-8 keys that decode alike", body: "{\"sub\": \"alice\", \"\xff\": 1, \"\xfe\": 2}", wantMsg: "UTF-8"},
		{name: "invalid UTF-8 value", body: "{\"sub\": \"al\xffice\"}", wantMsg: "UTF-8"},
		{name: "form parameter twice", ct: "application/x-www-form-urlencoded", body: "sub=alice&sub=bob", wantMsg: `"sub" appears twice`},

		{name: "same key in two objects", body: `{"sub": "alice", "a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			ct := tt.ct
			if ct == "" {
				ct = "application/json"
			}
			p.handle("GET /me", respond(200, ct, tt.body))
			s := p.strategy(t, stratFile("", tokenStep(authPost), userStepAt("/me", "")))
			l, cb := p.begin(t, s)
			res, err := s.Exchange(t.Context(), l, cb)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("answer with two readings accepted: Subject() %q, user %s", res.Subject(), res.User)
			}
			wantStep(t, err, "jwt")
			if !errors.Is(err, engine.ErrBadResponse) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want ErrBadResponse naming %s", err, tt.wantMsg)
			}
		})
	}
}

// TestDuplicateKeysInTokenAnswer: the token step's answer is checked too:
// with two id_tokens, ${token.id_token} and a parser that keeps the last
// key would read different tokens.
func TestDuplicateKeysInTokenAnswer(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.handle("/t", respond(200, "application/json", `{"access_token": "at-1", "id_token": "a.b.c", "id_token": "x.y.z"}`))
	s := p.strategy(t, stratFile("", tokenAt("/t"), jwtStepJWKS))
	l, cb := p.begin(t, s)
	_, err := s.Exchange(t.Context(), l, cb)
	if err == nil || !errors.Is(err, engine.ErrBadResponse) || !strings.Contains(err.Error(), `duplicate key "id_token"`) {
		t.Fatalf("err = %v, want ErrBadResponse naming the duplicate id_token", err)
	}
	wantStep(t, err, "token")
	wantNoSecrets(t, err, cb.Get("code"), l.CodeVerifier, "a.b.c", "x.y.z")
}
