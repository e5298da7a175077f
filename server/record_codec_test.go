package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/store/redisstore"
)

// redisstore reads records without a copy.
var _ StringGetter = (*redisstore.Store)(nil)

// codecRecord returns a record of the given identity with every head field
// set, ready to encode.
func codecRecord(sub string, user json.RawMessage, claims map[string]any) *record {
	t0 := time.Date(2026, 12, 1, 11, 0, 0, 123456789, time.UTC)
	rec := &record{ID: "session:abc", Strategy: "acme", Subject: sub, IdPSID: "sid-1",
		Created: t0, Expires: t0.Add(time.Hour), LastSeen: t0.Add(time.Minute),
		Refreshed: t0.Add(2 * time.Minute), RetryAt: t0.Add(3 * time.Minute), Failures: 2}
	rec.setBody(user, claims, engine.Tokens{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", IDToken: "idt",
		Expiry: t0.Add(30 * time.Minute), Issued: t0}, true)
	return rec
}

// sameHead reports how a and b differ in what the head holds, or "".
func sameHead(a, b *record) string {
	type head struct {
		ID, Strategy, Subject, IdPSID                                            string
		Created, Expires, LastSeen, Refreshed, RetryAt, TokenExpiry, TokenIssued time.Time
		Failures                                                                 int
		Refreshable, Verified                                                    bool
		Vals                                                                     [4]string
	}
	h := func(r *record) head {
		return head{r.ID, r.Strategy, r.Subject, r.IdPSID, r.Created, r.Expires, r.LastSeen, r.Refreshed, r.RetryAt,
			r.TokenExpiry, r.TokenIssued, r.Failures, r.Refreshable, r.ident.verified, r.ident.vals}
	}
	ha, hb := h(a), h(b)
	va, vb := reflect.ValueOf(ha), reflect.ValueOf(hb)
	for i := range va.NumField() {
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if ta, ok := fa.(time.Time); ok {
			if !ta.Equal(fb.(time.Time)) {
				return va.Type().Field(i).Name
			}
			continue
		}
		if !reflect.DeepEqual(fa, fb) {
			return va.Type().Field(i).Name
		}
	}
	return ""
}

func TestRecordCodecRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sub    string
		user   string
		claims map[string]any
	}{
		{"plain", "user-1", `{"sub":"user-1","email":"kate+news@corp.test","groups":["admins","Domain Users"]}`, nil},
		{"mapped claims", "u", `{"email":"x@y.test"}`, map[string]any{"email": "a@b.test", "groups": []any{"a,b", "c+d"}}},
		{"no email, no groups", "u", `{}`, nil},
		{"unverified email", "u", `{"email":"a@b.test","email_verified":false}`, nil},
		{"escapes in head strings", "a\"b\\c\nd\te\x00\x1f\u00e9\u212A", `{"email":"\u00e9%@x.test","groups":["100%"," x","y ","\u00c9quipe"]}`, nil},
		{"bytes that are not UTF-8", "\xff\xfe", `{}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := codecRecord(tc.sub, json.RawMessage(tc.user), tc.claims)
			b, err := encodeRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			head, _, ok := strings.Cut(string(b), "\n")
			if !ok || strings.Contains(head, "tokens") || strings.Contains(head, `"rt"`) {
				t.Fatalf("head %q: want one line without the tokens", head)
			}
			got, err := decodeRecord(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if f := sameHead(rec, got); f != "" {
				t.Errorf("%s differs after a round trip", f)
			}
			if got.raw != string(b) {
				t.Error("raw is not the stored bytes")
			}
			// The headers and the allow-lists' view, from the head alone.
			h1, h2 := http.Header{}, http.Header{}
			rec.ident.setHeaders(h1)
			got.ident.setHeaders(h2)
			if !reflect.DeepEqual(h1, h2) {
				t.Errorf("headers %q, want %q", h2, h1)
			}
			u, _ := rec.user()
			if got.ident.emailAddr() != u.Email() || !slices.Equal(got.ident.groupList(), u.groupList()) ||
				got.ident.emailVerified() != u.emailVerified() {
				t.Errorf("identity: email %q groups %q verified %v; want %q %q %v", got.ident.emailAddr(), got.ident.groupList(),
					got.ident.emailVerified(), u.Email(), u.groupList(), u.emailVerified())
			}
			// The body, at first use.
			gu, err := got.user()
			if err != nil {
				t.Fatal(err)
			}
			if gu.Subject != tc.sub || gu.Strategy != "acme" || string(gu.Raw) != tc.user || !reflect.DeepEqual(gu.Claims, u.Claims) ||
				!gu.AccessTokenExpiry.Equal(rec.TokenExpiry) {
				t.Errorf("user %+v, want %+v", gu, u)
			}
			toks, _ := got.tokens()
			want, _ := rec.tokens()
			if toks.AccessToken != want.AccessToken || toks.RefreshToken != want.RefreshToken || toks.IDToken != want.IDToken ||
				!toks.Expiry.Equal(want.Expiry) || !toks.Issued.Equal(want.Issued) {
				t.Errorf("tokens %+v, want %+v", toks, want)
			}
			// A touch re-encodes the head and keeps the body's bytes.
			next := *got
			next.LastSeen = next.LastSeen.Add(time.Second)
			b2, err := encodeRecord(&next)
			if err != nil {
				t.Fatal(err)
			}
			if _, body, _ := strings.Cut(string(b2), "\n"); body != got.body.enc {
				t.Error("a touch rewrote the body")
			}
		})
	}
}

func TestRecordCodecTimes(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 1),
		time.Unix(1764590400, 0),
		time.Unix(1764590400, 500000000),
		time.Unix(-1, 250000000), // -0.75 s
		time.Unix(-2, 0),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)),
		time.Now(), // with a monotonic reading
	} {
		b := appendHeadTime(nil, "t", tm)
		if tm.IsZero() {
			if len(b) != 0 {
				t.Errorf("zero time written as %q", b)
			}
			continue
		}
		_, num, _ := strings.Cut(string(b), ":")
		p := headParser{s: num}
		got := p.time()
		if p.err != nil || p.i != len(num) || !got.Equal(tm) {
			t.Errorf("%v: written %q, read %v, %v", tm, num, got, p.err)
		}
	}
}

func TestRecordCodecRejects(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"\n{}",
		"{}\n{}",
		`{"id":"session:x"}` + "\n{}",        // no version
		`{"v":2,"id":"session:x"}` + "\n{}",  // a later version
		`{"v":1}` + "\n{}",                   // no id
		`{"v":1,"id":"session:x"` + "\n{}",   // unterminated
		`{"v":1,"id":"session:x"}x` + "\n{}", // trailing bytes
		`{"v":1,"id":"session:x","expires":1.}` + "\n{}",
		`{"v":1,"id":"session:x","expires":1.1234567891}` + "\n{}",
		`{"v":1,"id":"session:x","expires":"1"}` + "\n{}",
		`{"v":1,"id":"session:x","expires":99999999999999999999}` + "\n{}",
		`{"v":1,"id":"session:\x01"}` + "\n{}",
		`{"v":1,"id":"session:\u12"}` + "\n{}",
		`{"v":1,"id":"session:\q"}` + "\n{}",
		`{"v":1,"id":"session:x","later":{"a":1}}` + "\n{}",
		`{"v":1,"id":"session:x","refreshable":tru}` + "\n{}",
		`{"v":1,"id":"session:x",}` + "\n{}",
		`not json`,
	} {
		if rec, err := decodeRecord(raw); err == nil {
			t.Errorf("%q decoded: %+v", raw, rec)
		}
	}
	// Fields of a later version are skipped; a bad body fails at first use.
	rec, err := decodeRecord(`{"v":1,"id":"session:x","later":"s","n":-1.5e3,"b":true,"z":null}` + "\n{")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.user(); err == nil {
		t.Error("a bad body decoded")
	}
}

// TestRecordCodecLegacy: a record written whole as one JSON document by
// the earlier format is still read, and its next write is in the current one.
func TestRecordCodecLegacy(t *testing.T) {
	t.Parallel()
	raw := `{"id":"session:abc","strategy":"acme","sub":"user-1","user":{"sub":"user-1","email":"a@b.test","groups":["g"]},` +
		`"tokens":{"access_token":"at","refresh_token":"rt","expiry":"2026-12-01T12:00:00Z"},"idp_sid":"sid",` +
		`"created":"2026-12-01T11:00:00Z","expires":"2026-12-01T13:00:00Z","last_seen":"2026-12-01T11:30:00Z","failures":1}`
	rec, err := decodeRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "session:abc" || rec.Subject != "user-1" || rec.IdPSID != "sid" || !rec.Refreshable || rec.Failures != 1 ||
		rec.ident.vals != [4]string{"user-1", "acme", "a@b.test", "g"} || rec.raw != raw ||
		!rec.TokenExpiry.Equal(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("legacy record read as %+v, identity %+v", rec, rec.ident)
	}
	next := *rec
	b, err := encodeRecord(&next)
	if err != nil {
		t.Fatal(err)
	}
	again, err := decodeRecord(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if f := sameHead(rec, again); f != "" {
		t.Errorf("%s differs after rewriting a legacy record", f)
	}
}

// TestRecordBodySharedDecode: a record read once and handed to several
// goroutines (the refresh singleflight's waiters) decodes its body once,
// safely (run with -race).
func TestRecordBodySharedDecode(t *testing.T) {
	t.Parallel()
	rec := codecRecord("user-1", json.RawMessage(`{"email":"a@b.test"}`), nil)
	b, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	users := make([]*User, 8)
	for i := range users {
		wg.Go(func() {
			u, err := got.user()
			if err != nil {
				t.Error(err)
			}
			users[i] = u
			got.ident.groupList()
			copy := *got // as touch and refresh do
			if _, err := encodeRecord(&copy); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, u := range users[1:] {
		if u != users[0] {
			t.Fatal("the body was decoded more than once")
		}
	}
}

func TestUnescapeHeader(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "plain", "100%", " a ", "a,b+c", "\x00\r\n", "\u00c9\u212A", "%", "%%2", "a b"} {
		for _, elem := range []bool{false, true} {
			if got := unescapeHeader(escapeHeader(v, elem)); got != v {
				t.Errorf("unescapeHeader(escapeHeader(%q, %v)) = %q", v, elem, got)
			}
		}
	}
}

// FuzzRecordDecode: no stored value makes the decoder panic, and every
// record it accepts encodes back to a record with the same head.
func FuzzRecordDecode(f *testing.F) {
	rec := codecRecord("user-1", json.RawMessage(`{"email":"a@b.test","groups":["x","y,z"]}`), nil)
	b, _ := encodeRecord(rec)
	f.Add(string(b))
	f.Add(`{"v":1,"id":"session:x","sub":"a\"\u00e9\ud83d\ude00\ud800","expires":-1.5}` + "\n{}")
	f.Add(`{"id":"session:abc","tokens":{}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		rec, err := decodeRecord(raw)
		if err != nil {
			return
		}
		rec.user() // may fail; must not panic
		rec.ident.groupList()
		rec.ident.emailAddr()
		rec.ident.setHeaders(http.Header{})
		if rec.body.err != nil {
			return
		}
		b, err := encodeRecord(rec)
		if err != nil {
			return
		}
		again, err := decodeRecord(string(b))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", b, err)
		}
		if f := sameHead(rec, again); f != "" {
			t.Fatalf("%s differs after re-encoding %q as %q", f, raw, b)
		}
	})
}

// FuzzHeadString: every string survives the head's string encoding.
func FuzzHeadString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n\x00\x7f", "\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		if strings.ContainsRune(string(b), '\n') {
			t.Fatalf("%q encoded with a newline: %q", s, b)
		}
		p := headParser{s: string(b)}
		if got := p.str(); p.err != nil || got != s || p.i != len(b) {
			t.Fatalf("%q encoded as %q, read back %q, %v", s, b, got, p.err)
		}
		// encoding/json reads what is valid UTF-8 the same way.
		var v string
		if err := json.Unmarshal(b, &v); err == nil && utf8.ValidString(s) && v != s {
			t.Fatalf("%q: encoding/json reads %q", s, v)
		}
	})
}
