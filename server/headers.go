package server

import (
	"net/http"
	"strings"
)

// The identity headers of /auth/verify (docs/forward-auth.md, "Header
// encoding"). Each value is percent-encoded, RFC 3986 §2.1 style with
// upper-case hex, for the bytes a header cannot carry faithfully: '%'
// itself, control characters (CR and LF among them, so a claim can never
// add a header line), every byte beyond ASCII (RFC 9110 §5.5: obs-text,
// which frameworks decode differently), and a space at either end (which
// HTTP trims). X-Auth-Groups is a list: its elements are joined with ','
// and each also has ',' and '+' encoded, so a comma always separates two
// groups and a form decoder ('+' as space) decodes it right too.
// Everything else passes unchanged, so plain names and emails
// ("kate+news@corp.test", "Domain Users") look as they always did, and
// decoding is one percent-decoder pass: never ambiguous, never lossy.

// setIdentityHeaders sets the X-Auth-* headers of /auth/verify's 200 for
// u. A session's values are made once per identity (newIdentity) and
// shared by every answer.
func setIdentityHeaders(h http.Header, u *User) { newIdentity(u).setHeaders(h) }

// escapeHeaderList joins the escaped elements of list with commas.
func escapeHeaderList(list []string) string {
	var b strings.Builder
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeHeader(e, true))
	}
	return b.String()
}

// escapeHeader percent-encodes the bytes of v that a header value cannot
// carry faithfully; with elem, v is a list element and ',' and '+' are
// encoded too.
func escapeHeader(v string, elem bool) string {
	escape := func(i int) bool {
		switch c := v[i]; {
		case c < 0x20, c >= 0x7f, c == '%':
			return true
		case c == ' ':
			return i == 0 || i == len(v)-1
		case c == ',', c == '+':
			return elem
		}
		return false
	}
	n := 0
	for i := range len(v) {
		if escape(i) {
			n++
		}
	}
	if n == 0 {
		return v
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(v)+2*n)
	for i := range len(v) {
		if c := v[i]; escape(i) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// unescapeHeader undoes escapeHeader (for one value or one list element):
// every '%' starts an escape, since escapeHeader encodes '%' itself.
func unescapeHeader(v string) string {
	i := strings.IndexByte(v, '%')
	if i < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '%' && i+2 < len(v) && unhex(v[i+1]) >= 0 && unhex(v[i+2]) >= 0 {
			b = append(b, byte(unhex(v[i+1])<<4|unhex(v[i+2])))
			i += 2
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}
