package interp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// values is a lookup table for tests: name -> value, with an origin by root.
func lookupFrom(m map[string]string) Lookup {
	return func(r Ref) (string, Origin, bool) {
		v, ok := m[r.Raw]
		o := Config
		switch r.Root {
		case "auth":
			o = Request
		case "token", "userinfo":
			o = Provider
		case "state", "nonce":
			o = Generated
		}
		return v, o, ok
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"${}", "${ client_id }", "${client_id", "a${b.}", "${.x}", "${a b}", "x ${a${b}}", "${a!}",
	} {
		t.Run(src, func(t *testing.T) {
			if _, err := Compile(src, Plain); err == nil {
				t.Fatalf("Compile(%q) succeeded; want error", src)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	t.Parallel()
	tpl := MustCompile("${okta_uri}/v1/token?x=${token.id_token}&y=${env.HOME}&z=${userinfo.emails.0.value}", URI)
	var got []string
	for _, r := range tpl.Refs() {
		got = append(got, r.Root+"|"+r.Path)
	}
	want := "okta_uri||token|id_token|env|HOME|userinfo|emails.0.value"
	if strings.Join(got, "|") != want {
		t.Fatalf("refs = %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestExecute(t *testing.T) {
	t.Parallel()
	vals := map[string]string{
		"base_uri":       "https://app.example.com",
		"redirect_path":  "/auth/acme/callback",
		"client_id":      "abc 123",
		"state":          "s1",
		"auth.code":      "c&grant_type=client_credentials",
		"token.host":     "evil.example",
		"token.crlf":     "v\r\nSet-Cookie: x=1",
		"token.id_token": "a.b.c",
		"okta_uri":       "https://dev.okta.com/oauth2/default",
	}
	tests := []struct {
		name, src string
		ctx       Context
		want      string
		wantErr   error
	}{
		{"query escaping", "https://idp.test/authorize?client_id=${client_id}&redirect_uri=${base_uri}${redirect_path}&state=${state}", URI,
			"https://idp.test/authorize?client_id=abc+123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fauth%2Facme%2Fcallback&state=s1", nil},
		{"config may form host", "${okta_uri}/v1/token", URI, "https://dev.okta.com/oauth2/default/v1/token", nil},
		{"code cannot add query params", "https://idp.test/t?code=${auth.code}", URI, "https://idp.test/t?code=c%26grant_type%3Dclient_credentials", nil},
		{"idp value may not form host", "https://${token.host}/x", URI, "", ErrUnsafeValue},
		{"idp value may not form whole uri", "${token.host}", URI, "", ErrUnsafeValue},
		{"idp value may not form path", "https://idp.test/users/${auth.code}?a=1", URI, "", ErrUnsafeValue},
		{"crlf refused in header", "Bearer ${token.crlf}", Header, "", ErrUnsafeValue},
		{"header ok", "Bearer ${token.id_token}", Header, "Bearer a.b.c", nil},
		{"raw keeps value", "${auth.code}", Plain, "c&grant_type=client_credentials", nil},
		{"missing value", "${nope}", Plain, "", ErrMissing},
		{"literal", "no placeholders", URI, "no placeholders", nil},
		{"fragment starts escaping", "https://idp.test/#${auth.code}", URI, "https://idp.test/#c%26grant_type%3Dclient_credentials", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MustCompile(tt.src, tt.ctx).Execute(lookupFrom(vals))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var ee *ExecError
				if !errors.As(err, &ee) {
					t.Fatalf("err %T is not *ExecError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// An attacker-controlled code placed in a query must round-trip as one value.
func TestQueryInjectionRoundTrip(t *testing.T) {
	t.Parallel()
	attack := "x&grant_type=password&username=admin#frag"
	got, err := MustCompile("https://idp.test/t?code=${auth.code}&c=1", URI).Execute(lookupFrom(map[string]string{"auth.code": attack}))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code") != attack || len(q) != 2 || q.Get("grant_type") != "" {
		t.Fatalf("query %v: the value escaped its parameter", q)
	}
}

// TestPositions: a URI template's placeholders know, from its text, whether
// they sit in the query; the literal pieces around them are kept.
func TestPositions(t *testing.T) {
	t.Parallel()
	tpl := MustCompile("${base}/p/${id}?a=${x}&b=${y}", URI)
	var got []string
	for _, r := range tpl.Refs() {
		got = append(got, fmt.Sprintf("%d:%s:%v", r.Index, r.Raw, r.InQuery))
	}
	if want := "0:base:false 1:id:false 2:x:true 3:y:true"; strings.Join(got, " ") != want {
		t.Errorf("refs %q, want %q", strings.Join(got, " "), want)
	}
	var lits []string
	for i := 0; i <= len(tpl.Refs()); i++ {
		lits = append(lits, tpl.Literal(i))
	}
	if want := `["" "/p/" "?a=" "&b=" ""]`; fmt.Sprintf("%q", lits) != want {
		t.Errorf("literals %q, want %s", lits, want)
	}
	if tpl.Context() != URI || MustCompile("${x}?${y}", Plain).Refs()[1].InQuery {
		t.Error("InQuery is for URI templates only")
	}
}
