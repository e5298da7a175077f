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

	"github.com/authflow/authflow/interp"
	"github.com/tidwall/gjson"
)

// runHTTP runs an HTTP step and returns its answer as JSON.
func (s *Strategy) runHTTP(ctx context.Context, st *step, sc *scope) ([]byte, error) {
	uri, err := st.uri.Execute(interp.URI, sc.lookup)
	if err != nil {
		return nil, fmt.Errorf("uri: %w", wrapExec(err))
	}
	var body io.Reader
	contentType := ""
	switch {
	case st.form != nil:
		form := make(url.Values, len(st.form))
		for _, f := range st.form {
			v, err := f.t.Execute(interp.Raw, sc.lookup)
			if err != nil {
				return nil, fmt.Errorf("form.%s: %w", f.name, wrapExec(err))
			}
			form.Set(f.name, v)
		}
		body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	case st.json != nil:
		v, err := executeJSON(st.json, sc)
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
	req, err := http.NewRequestWithContext(ctx, st.method, uri, body)
	if err != nil {
		return nil, fmt.Errorf("uri: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range st.headers {
		v, err := h.t.Execute(interp.Header, sc.lookup)
		if err != nil {
			return nil, fmt.Errorf("config.headers.%s: %w", h.name, wrapExec(err))
		}
		req.Header.Set(h.name, v)
	}
	if st.auth != nil {
		u, err := st.auth[0].Execute(interp.Raw, sc.lookup)
		if err != nil {
			return nil, fmt.Errorf("config.auth.username: %w", wrapExec(err))
		}
		p, err := st.auth[1].Execute(interp.Raw, sc.lookup)
		if err != nil {
			return nil, fmt.Errorf("config.auth.password: %w", wrapExec(err))
		}
		// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(u), url.QueryEscape(p))
	}
	resp, err := s.e.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("%s %s: %w", st.method, redactURI(uri), unwrapURLError(err))
		}
		return nil, fmt.Errorf("%w: %s %s: %v", ErrUnreachable, st.method, redactURI(uri), unwrapURLError(err))
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
		pe := &ProviderError{Step: st.name, StatusCode: resp.StatusCode}
		if perr == nil {
			pe.Code = gjson.GetBytes(doc, "error").String()
			pe.Description = gjson.GetBytes(doc, "error_description").String()
		}
		return nil, pe
	}
	if perr != nil {
		return nil, perr
	}
	// Some IdPs (GitHub's token endpoint, Slack's Web API) answer an OAuth
	// error with 200.
	if e := gjson.GetBytes(doc, "error"); e.Type == gjson.String && e.String() != "" && !gjson.GetBytes(doc, "access_token").Exists() {
		return nil, &ProviderError{Step: st.name, StatusCode: resp.StatusCode, Code: e.String(),
			Description: gjson.GetBytes(doc, "error_description").String()}
	}
	return doc, nil
}

// toJSON returns an answer body as JSON: JSON as it is (checked), and a
// form-encoded body (RFC 6749 servers that predate JSON) as an object.
func toJSON(contentType string, raw []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && gjson.ValidBytes(trimmed) && (trimmed[0] == '{' || trimmed[0] == '[') {
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
		obj[k] = v[0]
	}
	return json.Marshal(obj)
}

// executeJSON builds a JSON body from its compiled form.
func executeJSON(v any, sc *scope) (any, error) {
	switch x := v.(type) {
	case *interp.Template:
		s, err := x.Execute(interp.Raw, sc.lookup)
		if err != nil {
			return nil, fmt.Errorf("json: %w", wrapExec(err))
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

// unwrapURLError drops the *url.Error wrapper, whose text repeats the full
// URL (and so any token in its query).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
