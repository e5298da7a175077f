package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/authflow/authflow/engine"
)

// A record in a byte store (a Redis value) is its head, a newline, then its
// body:
//
//	{"v":1,"id":"session:…","strategy":"acme","sub":"user-1","created":1764590400.5,…,"x_groups":"admins,devs"}
//	{"user":{…},"claims":{…},"tokens":{…}}
//
// The head is one JSON object of strings, numbers and booleans, written and
// read by the code below (a check decodes it with no reflection and, for
// strings without escapes, no copy). Times are Unix seconds with up to nine
// decimals, absent when zero. x_email and x_groups are the X-Auth-Email and
// X-Auth-Groups values as sent (headers.go); the groups and email the
// allow-lists compare are read back from them, which is lossless. Strings
// carry their bytes as they are, with '"', '\' and control characters
// escaped, so the head never holds a newline.
//
// The body is encoding/json's encoding of bodyJSON, decoded only when
// something needs it (recordBody). A record of the earlier format — one
// JSON document of every field, with no newline — is still read.

// recordFormat is the head's "v".
const recordFormat = 1

// encodeRecord returns rec's stored form.
func encodeRecord(rec *record) ([]byte, error) {
	if rec.body == nil || rec.ident == nil {
		return nil, errors.New("session record: no body")
	}
	body, err := rec.body.encoded()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 384+len(body))
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, recordFormat, 10)
	b = appendHeadString(b, "id", rec.ID)
	b = appendHeadString(b, "strategy", rec.Strategy)
	b = appendHeadString(b, "sub", rec.Subject)
	if rec.IdPSID != "" {
		b = appendHeadString(b, "idp_sid", rec.IdPSID)
	}
	b = appendHeadTime(b, "created", rec.Created)
	b = appendHeadTime(b, "expires", rec.Expires)
	b = appendHeadTime(b, "last_seen", rec.LastSeen)
	b = appendHeadTime(b, "refreshed", rec.Refreshed)
	b = appendHeadTime(b, "retry_at", rec.RetryAt)
	if rec.Failures != 0 {
		b = append(b, `,"failures":`...)
		b = strconv.AppendInt(b, int64(rec.Failures), 10)
	}
	b = appendHeadTime(b, "token_expiry", rec.TokenExpiry)
	b = appendHeadTime(b, "token_issued", rec.TokenIssued)
	if rec.Refreshable {
		b = append(b, `,"refreshable":true`...)
	}
	if v := rec.ident.vals[hdrEmail]; v != "" {
		b = appendHeadString(b, "x_email", v)
	}
	if v := rec.ident.vals[hdrGroups]; v != "" {
		b = appendHeadString(b, "x_groups", v)
	}
	if !rec.ident.verified {
		b = append(b, `,"email_verified":false`...)
	}
	b = append(b, "}\n"...)
	return append(b, body...), nil
}

func appendHeadString(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// appendJSONString appends v quoted, escaping '"', '\' and control
// characters; every other byte is kept as it is.
func appendJSONString(b []byte, v string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, v[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	b = append(b, v[start:]...)
	return append(b, '"')
}

// appendHeadTime appends t as Unix seconds, with its nanoseconds as up to
// nine decimals; nothing for the zero time.
func appendHeadTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	sec, ns := t.Unix(), t.Nanosecond() // ns in [0, 1e9) even before 1970
	if sec < 0 && ns > 0 {
		// -1.25 s is sec -2, ns 750000000: written as the number it is.
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(-(sec + 1)), 10)
		ns = 1e9 - ns
	} else {
		b = strconv.AppendInt(b, sec, 10)
	}
	if ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return b
}

// decodedRecord holds a record read from a byte store with its identity
// and body, in one allocation.
type decodedRecord struct {
	rec  record
	id   identity
	body recordBody
}

// decodeRecord decodes a record's stored form: its head now, its body at
// first use.
func decodeRecord(raw string) (*record, error) {
	nl := strings.IndexByte(raw, '\n')
	if nl < 0 {
		return decodeLegacyRecord(raw)
	}
	d, err := decodeHeadLine(raw[:nl])
	if err != nil {
		return nil, err
	}
	rec := &d.rec
	d.body.enc, d.body.strategy, d.body.subject = raw[nl+1:], rec.Strategy, rec.Subject
	rec.body, rec.raw = &d.body, raw
	return rec, nil
}

// decodeHeadOnly decodes a record's head alone (HeadGetter). The record
// has no body and no stored form (body nil, raw ""): it can be checked,
// and never written (encodeRecord refuses it) or compared as a version.
func decodeHeadOnly(head string) (*record, error) {
	d, err := decodeHeadLine(head)
	if err != nil {
		return nil, err
	}
	return &d.rec, nil
}

// decodeHeadLine decodes a head line into a decodedRecord with its
// identity.
func decodeHeadLine(head string) (*decodedRecord, error) {
	d := &decodedRecord{}
	rec := &d.rec
	if err := decodeHead(head, rec, &d.id); err != nil {
		return nil, fmt.Errorf("session record: %w", err)
	}
	d.id.vals[hdrUser] = escapeHeader(rec.Subject, false)
	d.id.vals[hdrStrategy] = escapeHeader(rec.Strategy, false)
	rec.ident = &d.id
	return d, nil
}

// decodeHead decodes the head s into rec and id.
func decodeHead(s string, rec *record, id *identity) error {
	p := headParser{s: s}
	id.verified = true
	version := -1
	p.expect('{')
	for first := true; p.err == nil; first = false {
		if p.peek() == '}' && first {
			p.i++
			break
		}
		key := p.str()
		p.expect(':')
		switch key {
		case "v":
			version = p.int()
		case "id":
			rec.ID = p.str()
		case "strategy":
			rec.Strategy = p.str()
		case "sub":
			rec.Subject = p.str()
		case "idp_sid":
			rec.IdPSID = p.str()
		case "created":
			rec.Created = p.time()
		case "expires":
			rec.Expires = p.time()
		case "last_seen":
			rec.LastSeen = p.time()
		case "refreshed":
			rec.Refreshed = p.time()
		case "retry_at":
			rec.RetryAt = p.time()
		case "failures":
			rec.Failures = p.int()
		case "token_expiry":
			rec.TokenExpiry = p.time()
		case "token_issued":
			rec.TokenIssued = p.time()
		case "refreshable":
			rec.Refreshable = p.bool()
		case "x_email":
			id.vals[hdrEmail] = p.str()
		case "x_groups":
			id.vals[hdrGroups] = p.str()
		case "email_verified":
			id.verified = p.bool()
		default:
			p.skip() // a field of a later version that this one can do without
		}
		if p.err != nil {
			break
		}
		if p.peek() == '}' {
			p.i++
			break
		}
		p.expect(',')
	}
	switch {
	case p.err != nil:
		return p.err
	case p.i != len(s):
		return fmt.Errorf("head: %d bytes after its end", len(s)-p.i)
	case version != recordFormat:
		return fmt.Errorf("head: format %d, want %d", version, recordFormat)
	case rec.ID == "":
		return errors.New("head: no id")
	}
	return nil
}

// headParser reads the values of a head. After an error it reads nothing
// more.
type headParser struct {
	s   string
	i   int
	err error
}

func (p *headParser) fail(what string) {
	if p.err == nil {
		p.err = fmt.Errorf("head: %s at offset %d", what, p.i)
	}
	p.i = len(p.s)
}

func (p *headParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *headParser) expect(c byte) {
	if p.peek() != c || p.err != nil {
		p.fail(fmt.Sprintf("want %q", c))
		return
	}
	p.i++
}

// str reads a string: a substring of the head when it has no escapes.
func (p *headParser) str() string {
	if p.peek() != '"' {
		p.fail("want a string")
		return ""
	}
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '"':
			p.i = j + 1
			return p.s[start:j]
		case c == '\\':
			return p.escaped(start, j)
		case c < 0x20:
			p.i = j
			p.fail("control character in a string")
			return ""
		}
	}
	p.fail("unterminated string")
	return ""
}

// escaped reads the rest of a string that has an escape at j.
func (p *headParser) escaped(start, j int) string {
	b := []byte(p.s[start:j])
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return string(b)
		case c < 0x20:
			p.i = j
			p.fail("control character in a string")
			return ""
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 >= len(p.s) {
			break
		}
		switch e := p.s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(p.s, j+2)
			if !ok {
				p.i = j
				p.fail("bad \\u escape")
				return ""
			}
			j += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(p.s, j+4); ok && p.s[j+2] == '\\' && p.s[j+3] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						j += 6
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			p.i = j
			p.fail("bad escape")
			return ""
		}
		j += 2
	}
	p.i = j
	p.fail("unterminated string")
	return ""
}

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// digits reads a run of decimal digits.
func (p *headParser) digits() string {
	start := p.i
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		p.i++
	}
	return p.s[start:p.i]
}

// int reads an integer.
func (p *headParser) int() int {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	if p.digits() == "" {
		p.fail("want an integer")
		return 0
	}
	n, err := strconv.Atoi(p.s[start:p.i])
	if err != nil {
		p.fail("integer out of range")
		return 0
	}
	return n
}

// time reads Unix seconds with up to nine decimals.
func (p *headParser) time() time.Time {
	neg := p.peek() == '-'
	if neg {
		p.i++
	}
	d := p.digits()
	if d == "" {
		p.fail("want a time")
		return time.Time{}
	}
	sec, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
		p.fail("time out of range")
		return time.Time{}
	}
	var ns int64
	if p.peek() == '.' {
		p.i++
		frac := p.digits()
		if frac == "" || len(frac) > 9 {
			p.fail("bad fraction of a second")
			return time.Time{}
		}
		for i := range 9 {
			ns *= 10
			if i < len(frac) {
				ns += int64(frac[i] - '0')
			}
		}
	}
	if neg {
		sec, ns = -sec, -ns
	}
	return time.Unix(sec, ns).UTC()
}

// bool reads true or false.
func (p *headParser) bool() bool {
	switch {
	case strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true
	case strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false
	}
	p.fail("want true or false")
	return false
}

// skip reads a string, number, boolean or null of a field it does not know.
func (p *headParser) skip() {
	switch c := p.peek(); {
	case c == '"':
		p.str()
	case c == 't' || c == 'f':
		p.bool()
	case strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
	case c == '-' || '0' <= c && c <= '9':
		p.i++
		for p.i < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[p.i]) >= 0 {
			p.i++
		}
	default:
		p.fail("want a string, number, boolean or null")
	}
}

// legacyRecord is the earlier format: every field in one JSON document.
type legacyRecord struct {
	ID        string          `json:"id"`
	Strategy  string          `json:"strategy"`
	Subject   string          `json:"sub"`
	User      json.RawMessage `json:"user"`
	Claims    map[string]any  `json:"claims,omitempty"`
	Tokens    engine.Tokens   `json:"tokens"`
	IdPSID    string          `json:"idp_sid,omitempty"`
	Created   time.Time       `json:"created"`
	Expires   time.Time       `json:"expires"`
	LastSeen  time.Time       `json:"last_seen,omitzero"`
	Refreshed time.Time       `json:"refreshed,omitzero"`
	RetryAt   time.Time       `json:"retry_at,omitzero"`
	Failures  int             `json:"failures,omitempty"`
}

// decodeLegacyRecord decodes a record of the earlier format, whole. Its
// next write is in the current one.
func decodeLegacyRecord(raw string) (*record, error) {
	var v legacyRecord
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("session record: %w", err)
	}
	if v.ID == "" {
		return nil, errors.New("session record: no id")
	}
	rec := &record{ID: v.ID, Strategy: v.Strategy, Subject: v.Subject, IdPSID: v.IdPSID,
		Created: v.Created, Expires: v.Expires, LastSeen: v.LastSeen, Refreshed: v.Refreshed,
		RetryAt: v.RetryAt, Failures: v.Failures, raw: raw}
	rec.setBody(v.User, v.Claims, v.Tokens, true)
	return rec, nil
}
