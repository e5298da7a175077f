package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/authflow/authflow/interp"
	"github.com/authflow/authflow/strategies"
	"github.com/tidwall/gjson"
)

// runHTTP runs an HTTP step and returns its answer as JSON.
func (s *Strategy) runHTTP(ctx context.Context, st *step, sc *scope) ([]byte, error) {
	uri, err := st.URI().Execute(sc.value)
	if err != nil {
		return nil, fmt.Errorf("uri: %w", wrapExec(err))
	}
	var body io.Reader
	contentType := ""
	switch {
	case st.Form() != nil:
		fields := st.Form()
		form := make(url.Values, len(fields))
		for _, f := range fields {
			if sc.leavesOut(st, f.Value) {
				continue
			}
			v, err := f.Value.Execute(sc.value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Value.Field(), wrapExec(err))
			}
			form.Set(f.Name, v)
		}
		sc.completeForm(st, form)
		if err := s.authenticateForm(st, form, uri); err != nil {
			return nil, err
		}
		body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	case st.JSON() != nil:
		v, err := executeJSON(st.JSON(), sc)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	ctx, cancel := context.WithTimeout(ctx, s.e.opts.StepTimeout)
	defer cancel()
	method := st.Method()
	req, err := http.NewRequestWithContext(ctx, method, uri, body)
	if err != nil {
		return nil, fmt.Errorf("uri: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range st.Headers() {
		v, err := h.Value.Execute(sc.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Value.Field(), wrapExec(err))
		}
		req.Header.Set(h.Name, v)
	}
	if st.clientAuth == strategies.ClientAuthBasic {
		secret, err := s.clientSecret()
		if err != nil {
			return nil, fmt.Errorf("client_auth: %w", err)
		}
		// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(s.vars["client_id"]), url.QueryEscape(secret))
	}
	if user, pass := st.BasicAuth(); user != nil {
		u, err := user.Execute(sc.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", user.Field(), wrapExec(err))
		}
		p, err := pass.Execute(sc.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pass.Field(), wrapExec(err))
		}
		// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(u), url.QueryEscape(p))
	}
	resp, err := s.e.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("%s %s: %w", method, shownURI(st.URI(), uri), unwrapURLError(err))
		}
		return nil, fmt.Errorf("%w: %s %s: %v", ErrUnreachable, method, shownURI(st.URI(), uri), unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: reading the answer: %v", ErrUnreachable, err)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if ok && (st.ignoreBody || len(bytes.TrimSpace(raw)) == 0) {
		// 204 No Content and empty 200s are normal for revocation
		// (RFC 7009 §2.2) and DELETE calls: the result is an empty object.
		return []byte("{}"), nil
	}
	doc, perr := toJSON(resp.Header.Get("Content-Type"), raw)
	if !ok {
		pe := &ProviderError{Step: st.Name(), StatusCode: resp.StatusCode}
		if perr == nil {
			pe.Code = ErrorCode(gjson.GetBytes(doc, "error").String())
			pe.Description = gjson.GetBytes(doc, "error_description").String()
		}
		return nil, pe
	}
	if perr != nil {
		return nil, perr
	}
	if pe := st.bodyError(doc, resp.StatusCode); pe != nil {
		return nil, pe
	}
	return doc, nil
}

// authenticateForm adds the client's credentials to a step's form, as its
// client_auth says: client_secret_post and none the client_id (and the
// secret); private_key_jwt the client_id and a new client assertion whose
// aud is client_assertion_audience, else the token endpoint (the token
// step's URI; this step's own when it cannot be known at start).
func (s *Strategy) authenticateForm(st *step, form url.Values, uri string) error {
	switch st.clientAuth {
	case strategies.ClientAuthPost:
		secret, err := s.clientSecret()
		if err != nil {
			return fmt.Errorf("client_auth: %w", err)
		}
		form.Set("client_id", s.vars["client_id"])
		form.Set("client_secret", secret)
	case strategies.ClientAuthNone:
		form.Set("client_id", s.vars["client_id"])
	case strategies.ClientAuthPrivateKeyJWT:
		if s.key == nil {
			return errors.New("client_auth: private_key_jwt needs client_key")
		}
		aud := s.assertionAud
		if aud == "" {
			aud = s.tokenEndpoint
		}
		if aud == "" {
			aud = stripQuery(uri)
		}
		a, err := s.key.assertion(s.vars["client_id"], aud, s.e.opts.Now())
		if err != nil {
			return fmt.Errorf("client_auth: %w", err)
		}
		form.Set("client_id", s.vars["client_id"])
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", a)
	}
	return nil
}

// bodyError returns the error a 2xx answer reports in its body, or nil: an
// "error" member, or the value the step's error_path names, other than
// null, "", false and 0. Some IdPs answer errors with 200: GitHub's token
// endpoint, Slack's Web API ({"ok": false, "error": "invalid_code"}),
// WeChat ({"errcode": 40001}). An answer that holds an access_token too is
// no exception.
func (st *step) bodyError(doc []byte, status int) *ProviderError {
	for _, path := range []string{"error", st.ErrorPath()} {
		if path == "" {
			continue
		}
		v := gjson.GetBytes(doc, path)
		if !reportsError(v) {
			continue
		}
		pe := &ProviderError{Step: st.Name(), StatusCode: status}
		switch v.Type {
		case gjson.String:
			pe.Code = ErrorCode(v.Str)
			if path == "error" {
				pe.Description = gjson.GetBytes(doc, "error_description").String()
			}
		case gjson.JSON:
			var b bytes.Buffer
			json.Compact(&b, []byte(v.Raw))
			pe.Description = clip(b.String(), maxErrorText)
		default:
			pe.Code = ErrorCode(clip(v.Raw, maxErrorText))
		}
		return pe
	}
	return nil
}

// reportsError reports whether a value in an answer's body says that the
// call failed: anything but absent, null, "", false and 0.
func reportsError(v gjson.Result) bool {
	switch v.Type {
	case gjson.Null, gjson.False:
		return false
	case gjson.String:
		return v.Str != ""
	case gjson.Number:
		return v.Num != 0
	}
	return true
}

// maxErrorText bounds the part of an error body that a message quotes.
const maxErrorText = 200

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// toJSON returns an answer body as JSON: JSON as it is (checked to have
// one reading), and a form-encoded body (RFC 6749 servers that predate
// JSON) as an object.
func toJSON(contentType string, raw []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && gjson.ValidBytes(trimmed) && (trimmed[0] == '{' || trimmed[0] == '[') {
		if err := oneReading(trimmed); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		return trimmed, nil
	}
	// A form-encoded answer is read as such only when labelled so, or
	// unlabelled plain text: an HTML error page is never taken for a form.
	isForm := mt == "application/x-www-form-urlencoded" || mt == "text/plain" || mt == ""
	if !isForm || len(trimmed) == 0 || !bytes.Contains(trimmed, []byte("=")) {
		return nil, fmt.Errorf("%w: answer is not JSON (Content-Type %q, %d bytes)", ErrBadResponse, contentType, len(raw))
	}
	vals, err := url.ParseQuery(string(trimmed))
	if err != nil {
		return nil, fmt.Errorf("%w: answer is neither JSON nor form-encoded: %v", ErrBadResponse, err)
	}
	obj := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) > 1 {
			return nil, fmt.Errorf("%w: form-encoded answer: parameter %q appears twice", ErrBadResponse, k)
		}
		obj[k] = v[0]
	}
	return json.Marshal(obj)
}

// maxDepth bounds the nesting of an answer, as encoding/json does.
const maxDepth = 10000

// oneReading refuses a JSON document that two parsers may read two ways:
// one that is not UTF-8 (encoding/json replaces invalid bytes, gjson keeps
// them) or one with an object that names a key twice (gjson reads the
// first, encoding/json the last: X-Auth-User and /auth/session would name
// different users). Keys are compared unescaped ("s\u0075b" is "sub").
// doc must be valid JSON.
func oneReading(doc []byte) error {
	if !utf8.Valid(doc) {
		return errors.New("not valid UTF-8")
	}
	return uniqueKeys(gjson.ParseBytes(doc), 0)
}

// uniqueKeys checks v's objects, at any depth, for a key given twice.
func uniqueKeys(v gjson.Result, depth int) error {
	if !v.IsObject() && !v.IsArray() {
		return nil
	}
	if depth >= maxDepth {
		return errors.New("nested too deeply")
	}
	var err error
	var seen map[string]bool
	if v.IsObject() {
		seen = map[string]bool{}
	}
	v.ForEach(func(k, e gjson.Result) bool {
		if seen != nil {
			if seen[k.Str] {
				err = fmt.Errorf("duplicate key %q", clip(k.Str, maxErrorText))
				return false
			}
			seen[k.Str] = true
		}
		err = uniqueKeys(e, depth+1)
		return err == nil
	})
	return err
}

// executeJSON builds a JSON body from its compiled form.
func executeJSON(v any, sc *scope) (any, error) {
	switch x := v.(type) {
	case *strategies.Template:
		s, err := x.Execute(sc.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", x.Field(), wrapExec(err))
		}
		return s, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := executeJSON(e, sc)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := executeJSON(e, sc)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	default:
		return v, nil
	}
}

// wrapExec marks a missing value with ErrMissingValue; escaping refusals keep
// interp.ErrUnsafeValue.
func wrapExec(err error) error {
	if errors.Is(err, interp.ErrMissing) {
		return fmt.Errorf("%w: %v", ErrMissingValue, err)
	}
	return err
}

// redactURI drops a URI's query, where tokens may sit, for messages.
func redactURI(uri string) string {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		return uri[:i] + "?…"
	}
	return uri
}

// shownURI is uri as messages show it: without its query (redactURI),
// and, when the template places a value in the path as a segment
// (${segment:token.access_token}: a token, at HubSpot), as the template's
// text, so that the value never reaches a message.
func shownURI(t *strategies.Template, uri string) string {
	for _, b := range t.Bindings() {
		if b.Segment {
			return redactURI(t.String())
		}
	}
	return redactURI(uri)
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the full
// URL (and so any token in its query).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
