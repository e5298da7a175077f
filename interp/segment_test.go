package interp

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestSegmentAttacks: a ${segment:NAME} value from the identity provider
// fills exactly one path segment: it cannot climb the path, add a
// segment, begin the query or fragment, or change the host, whatever it
// holds.
func TestSegmentAttacks(t *testing.T) {
	t.Parallel()
	tpl := MustCompile("https://api.idp.test/oauth/v1/access-tokens/${segment:token.access_token}?x=1", URI)
	tests := []struct {
		value   string
		want    string // the escaped segment; "" when refused
		refused bool
	}{
		{"CJSP5qf1KhICAQEYs-gDIIGOBii1hQ", "CJSP5qf1KhICAQEYs-gDIIGOBii1hQ", false},
		{"../x", "", true},
		{"a/b", "", true},
		{"..", "", true},
		{".", "", true},
		{"", "", true},
		{`a\b`, "", true},
		{"%2F", "%252F", false},
		{"%2e%2e", "%252e%252e", false},
		{"?q", "%3Fq", false},
		{"#", "%23", false},
		{"a b", "a%20b", false},
		{"@evil.test", "@evil.test", false},
		{"ünï/", "", true},
		{"ünï", "%C3%BCn%C3%AF", false},
		{"\r\nHost: x", "%0D%0AHost:%20x", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := tpl.Execute(func(r Ref) (string, Origin, bool) { return tt.value, Provider, true })
			if tt.refused {
				if !errors.Is(err, ErrUnsafeValue) {
					t.Fatalf("value %q: got %q, %v; want it refused (ErrUnsafeValue)", tt.value, got, err)
				}
				if strings.Contains(err.Error(), tt.value) && tt.value != "" && tt.value != "." && tt.value != ".." {
					t.Errorf("the error quotes the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("value %q: %v", tt.value, err)
			}
			if want := "https://api.idp.test/oauth/v1/access-tokens/" + tt.want + "?x=1"; got != want {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
			if u.Host != "api.idp.test" || len(segs) != 4 || u.Query().Get("x") != "1" || len(u.Query()) != 1 || u.Fragment != "" {
				t.Fatalf("value %q changed the URI: %q", tt.value, got)
			}
			if dec, _ := url.PathUnescape(segs[3]); dec != tt.value {
				t.Fatalf("segment decodes to %q, want %q", dec, tt.value)
			}
		})
	}
}

// TestSegmentPlacement: the marker is accepted only where its value is
// one whole path segment after the host.
func TestSegmentPlacement(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"https://h.test/a/${segment:x}",
		"https://h.test/a/${segment:x}/b",
		"https://h.test/${segment:x}?q=${y}",
		"${base}/tokens/${segment:x}#f",
	} {
		if _, err := Compile(ok, URI); err != nil {
			t.Errorf("Compile(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{
		"https://${segment:x}/a",           // the host
		"https:/${segment:x}",              // the host, one slash short
		"https://h.test/a${segment:x}",     // part of a segment
		"https://h.test/${segment:x}.json", // part of a segment
		"https://h.test/${segment:x}${y}",  // two values in one segment
		"https://h.test/a?t=${segment:x}",  // the query
		"https://h.test/a#${segment:x}",    // the fragment
		"${segment:x}",                     // the whole URI
		"//${segment:x}/a",                 // a network-path reference
	} {
		if _, err := Compile(bad, URI); err == nil {
			t.Errorf("Compile(%q) succeeded; want the placement refused", bad)
		}
	}
	for _, ctx := range []Context{Plain, Header, Form, JSON} {
		if _, err := Compile("/a/${segment:x}", ctx); err == nil {
			t.Errorf("Compile in %v context succeeded; a segment is for URIs only", ctx)
		}
	}
	if _, err := Compile("https://h.test/${segment:segment:x}", URI); err == nil {
		t.Error("a doubled marker compiled")
	}
}

// TestSegmentHost: a trusted value that leaves the authority open (a base
// of "https://") puts the segment where the host would be: refused at run
// time.
func TestSegmentHost(t *testing.T) {
	t.Parallel()
	tpl := MustCompile("${base}/${segment:x}/p", URI)
	_, err := tpl.Execute(func(r Ref) (string, Origin, bool) {
		if r.Root == "base" {
			return "https:/", Config, true
		}
		return "evil.test", Provider, true
	})
	if !errors.Is(err, ErrUnsafeValue) {
		t.Fatalf("err = %v, want ErrUnsafeValue", err)
	}
	ref := tpl.Refs()[1]
	if !ref.Segment || ref.Raw != "x" || ref.Root != "x" || ref.String() != "${segment:x}" {
		t.Fatalf("ref %+v", ref)
	}
}

// FuzzSegment: no value changes a segment template's host, path shape or
// query.
func FuzzSegment(f *testing.F) {
	for _, s := range []string{"a", "../x", "%2F", "?", "#", "..", ".", "a/b", "ü"} {
		f.Add(s)
	}
	tpl := MustCompile("https://h.test/t/${segment:v}/info?k=1", URI)
	f.Fuzz(func(t *testing.T, v string) {
		got, err := tpl.Execute(func(Ref) (string, Origin, bool) { return v, Request, true })
		if err != nil {
			if !errors.Is(err, ErrUnsafeValue) {
				t.Fatal(err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		segs := strings.Split(u.EscapedPath(), "/")
		if u.Host != "h.test" || len(segs) != 4 || segs[3] != "info" || u.RawQuery != "k=1" || u.Fragment != "" {
			t.Fatalf("value %q changed the URI: %q", v, got)
		}
		if dec, err := url.PathUnescape(segs[2]); err != nil || dec != v || dec == "." || dec == ".." {
			t.Fatalf("value %q: segment %q", v, segs[2])
		}
	})
}
