package server

import (
	"bytes"
	"strings"
	"testing"
)

// TestPagesEscapeIdentity: what the IdP says of a user (name, email,
// strategy label from the file) reaches the account page escaped, so a
// name like <script> cannot run in authflow's origin; a logo URL that could
// leave its attribute or run script is refused at start.
func TestPagesEscapeIdentity(t *testing.T) {
	t.Parallel()
	pages, err := loadPages("", `Acme "<b>"`, "data:image/svg+xml;base64,PHN2Zy8+")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = pages.ExecuteTemplate(&b, "account", accountPage{SignedIn: true,
		Name: `<script>alert(1)</script>`, Email: `"><img src=x onerror=alert(1)>`, Strategy: `<i>Okta</i>`,
		SignOutURL: "/auth/signout", SignInURL: "/auth/login"})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script>alert", "<img src=x", "<i>Okta", `<b>"`} {
		if strings.Contains(out, bad) {
			t.Errorf("account page holds %q unescaped:\n%s", bad, out)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", `<img src="data:image/svg&#43;xml;base64,PHN2Zy8&#43;"`} {
		if !strings.Contains(out, want) {
			t.Errorf("account page lacks %q:\n%s", want, out)
		}
	}
	for _, logo := range []string{"javascript:alert(1)", `https://cdn.example/x" onload="alert(1)`, "//evil.example/logo.png",
		"https://user:pw@cdn.example/l.png", "vbscript:x", "https://cdn.example/a;b"} {
		if _, err := imageSource(logo); err == nil {
			t.Errorf("logo %q accepted", logo)
		}
	}
}
