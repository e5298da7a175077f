package interp

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCompile checks that Compile never panics and that a compiled template's
// refs are well formed.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"", "${a}", "x${a.b.c}y", "${", "}", "${${a}}", "${a}${b}", "https://h/p?q=${auth.code}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Compile(src, URI)
		if err != nil {
			return
		}
		for _, r := range tpl.Refs() {
			if r.Root == "" || strings.ContainsAny(r.Raw, " \t\r\n") {
				t.Fatalf("bad ref %+v from %q", r, src)
			}
		}
		if _, err := tpl.Execute(func(Ref) (string, Origin, bool) { return "v", Config, true }); err != nil {
			t.Fatalf("execute %q: %v", src, err)
		}
	})
}

// FuzzQueryEscape checks that no untrusted value can add or change query
// parameters of a URI template.
func FuzzQueryEscape(f *testing.F) {
	for _, s := range []string{"a", "&x=1", "%26", "#", "?", "a b+c", "\r\n", "\x00"} {
		f.Add(s)
	}
	tpl := MustCompile("https://idp.test/t?code=${auth.code}&state=${state}", URI)
	f.Fuzz(func(t *testing.T, v string) {
		got, err := tpl.Execute(func(r Ref) (string, Origin, bool) {
			if r.Root == "state" {
				return "s", Generated, true
			}
			return v, Request, true
		})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		if len(q) != 2 || q.Get("code") != v || q.Get("state") != "s" || u.Host != "idp.test" || u.Fragment != "" {
			t.Fatalf("value %q changed the URI: %q", v, got)
		}
	})
}
