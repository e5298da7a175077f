package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestIdentityHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		u    *User
		want http.Header
	}{
		{"plain values are unchanged",
			&User{Strategy: "okta", Subject: "00u1ab", Raw: json.RawMessage(`{"email":"kate+news@corp.test","groups":["admins","Domain Users","ops-eu_1"]}`)},
			http.Header{"X-Auth-User": {"00u1ab"}, "X-Auth-Strategy": {"okta"}, "X-Auth-Email": {"kate+news@corp.test"},
				"X-Auth-Groups": {"admins,Domain Users,ops-eu_1"}}},
		{"a comma in a group is not a separator",
			&User{Strategy: "s", Subject: "u", Raw: json.RawMessage(`{"groups":["staff,admins","devs"]}`)},
			http.Header{"X-Auth-User": {"u"}, "X-Auth-Strategy": {"s"}, "X-Auth-Groups": {"staff%2Cadmins,devs"}}},
		{"percent, plus, edge spaces, controls and non-ASCII in groups",
			&User{Strategy: "s", Subject: "u", Raw: json.RawMessage(`{"groups":["100%"," admins","admins ","a b","c++","x\ty","\u00c9quipe","\u212Aitchen"]}`)},
			http.Header{"X-Auth-User": {"u"}, "X-Auth-Strategy": {"s"},
				"X-Auth-Groups": {"100%25,%20admins,admins%20,a b,c%2B%2B,x%09y,%C3%89quipe,%E2%84%AAitchen"}}},
		{"a single group as a string",
			&User{Strategy: "s", Subject: "u", Raw: json.RawMessage(`{"groups":"staff,admins"}`)},
			http.Header{"X-Auth-User": {"u"}, "X-Auth-Strategy": {"s"}, "X-Auth-Groups": {"staff%2Cadmins"}}},
		{"mapped groups",
			&User{Strategy: "s", Subject: "u", Claims: map[string]any{"groups": []any{"a,b"}}, Raw: json.RawMessage(`{"groups":["x"]}`)},
			http.Header{"X-Auth-User": {"u"}, "X-Auth-Strategy": {"s"}, "X-Auth-Groups": {"a%2Cb"}}},
		{"no groups, no email: no header",
			&User{Strategy: "s", Subject: "u", Raw: json.RawMessage(`{"groups":[]}`)},
			http.Header{"X-Auth-User": {"u"}, "X-Auth-Strategy": {"s"}}},
		// Single values: no list, so ',' and '+' stay; what a header would
		// lose or change is encoded, so that two users never look alike.
		{"email and subject that a header could not carry",
			&User{Strategy: "s", Subject: " ad\x00min", Raw: json.RawMessage(`{"email":"\u212Aate,x+y@corp.test "}`)},
			http.Header{"X-Auth-User": {"%20ad%00min"}, "X-Auth-Strategy": {"s"}, "X-Auth-Email": {"%E2%84%AAate,x+y@corp.test%20"}}},
		{"a percent in an email",
			&User{Strategy: "s", Subject: "u", Raw: json.RawMessage(`{"email":"a%b@corp.test"}`)},
			http.Header{"X-Auth-User": {"u"}, "X-Auth-Strategy": {"s"}, "X-Auth-Email": {"a%25b@corp.test"}}},
		{"CR LF cannot add a header line",
			&User{Strategy: "s", Subject: "u\r\nX-Auth-Groups: admins", Raw: json.RawMessage(`{}`)},
			http.Header{"X-Auth-User": {"u%0D%0AX-Auth-Groups: admins"}, "X-Auth-Strategy": {"s"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			setIdentityHeaders(h, tc.u)
			for k, want := range tc.want {
				if got := h.Values(k); !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k := range h {
				if _, ok := tc.want[k]; !ok {
					t.Errorf("unexpected header %s: %q", k, h.Values(k))
				}
			}
		})
	}
}

// FuzzGroupsHeader checks, for any group names (separated by NUL in the
// fuzzer's input), that X-Auth-Groups is a field value any HTTP hop keeps
// as it is (visible ASCII and inner spaces only) and that splitting it on
// commas and percent-decoding each element — with a path decoder or a form
// decoder — gives back exactly the groups.
func FuzzGroupsHeader(f *testing.F) {
	for _, s := range []string{"staff,admins\x00devs", " admins\x00admins ", "100%\x00c++\x00a b", "\u212Aate\x00\xff\xfe", "%2C\x00%\x00+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var groups []any
		var want []string
		for _, g := range strings.Split(in, "\x00") {
			if g != "" {
				groups = append(groups, g)
				want = append(want, g)
			}
		}
		raw, _ := json.Marshal(map[string]any{"groups": groups})
		h := http.Header{}
		setIdentityHeaders(h, &User{Raw: raw})
		v := h.Get("X-Auth-Groups")
		if len(want) == 0 {
			if v != "" {
				t.Fatalf("no groups, but X-Auth-Groups = %q", v)
			}
			return
		}
		// json.Marshal turns invalid UTF-8 into U+FFFD: compare with what
		// the user object holds.
		want = (&User{Raw: raw}).Groups()
		checkFieldValue(t, v)
		elems := strings.Split(v, ",")
		if len(elems) != len(want) {
			t.Fatalf("X-Auth-Groups %q has %d elements, want %d (%q)", v, len(elems), len(want), want)
		}
		for i, e := range elems {
			if strings.ContainsAny(e, "+") || strings.TrimSpace(e) != e {
				t.Fatalf("element %q of %q holds '+' or an edge space", e, v)
			}
			for _, decode := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
				if got, err := decode(e); err != nil || got != want[i] {
					t.Fatalf("element %q decodes to %q, %v; want %q", e, got, err, want[i])
				}
			}
		}
	})
}

// FuzzIdentityValue checks X-Auth-User and X-Auth-Email the same way: a
// field value any hop keeps, that percent-decodes to the subject exactly.
func FuzzIdentityValue(f *testing.F) {
	for _, s := range []string{"00u1ab", " admin", "ad\x00min", "\u212Aate@corp.test", "a%b+c,d", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sub string) {
		h := http.Header{}
		setIdentityHeaders(h, &User{Subject: sub, Raw: json.RawMessage(`{}`)})
		v := h.Get("X-Auth-User")
		checkFieldValue(t, v)
		if got, err := url.PathUnescape(v); err != nil || got != sub {
			t.Fatalf("X-Auth-User %q decodes to %q, %v; want %q", v, got, err, sub)
		}
	})
}

// checkFieldValue fails unless v holds only visible ASCII and spaces, with
// no space at either end (RFC 9110 §5.5: a recipient trims those).
func checkFieldValue(t *testing.T, v string) {
	t.Helper()
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			t.Fatalf("header value %q holds byte %#x", v, c)
		}
	}
	if strings.TrimSpace(v) != v {
		t.Fatalf("header value %q has a space at an end", v)
	}
}
