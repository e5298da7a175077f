package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeBranding: app_name, logo_url and templates_dir reach the pages
// of `authflow serve`, and "/" is the account page (serve mounts nothing
// else there).
func TestServeBranding(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "account.html"), []byte(`{{define "account"}}<h1 id="acme">Acme account of {{appName}}</h1>{{if .SignedIn}}{{.Name}}{{else}}{{template "signed_out_note"}}{{end}}{{end}}`), 0o644)
	r := startServe(t, "--strategies=../../testdata/spec_example.json", "--app-name=Acme Portal",
		"--logo-url=/static/logo.svg", "--templates-dir="+dir)
	p := r.br.Get("/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `<h1 id="acme">Acme account of Acme Portal</h1>`) ||
		!strings.Contains(p.Body, "You are signed out.") {
		t.Errorf("GET /: %d %s", p.Status, p.Body)
	}
	p = r.br.Get("/nosuch")
	if p.Status != http.StatusNotFound || !strings.Contains(p.Body, `<img src="/static/logo.svg"`) || !strings.Contains(p.Body, `<span id="app-name">Acme Portal</span>`) {
		t.Errorf("GET /nosuch: %d %s", p.Status, p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; img-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestServeRefusesBrokenTemplates: a templates directory that is missing,
// or a template in it that is unknown, lacks its define, does not parse or
// does not render, is a start-up error naming the file.
func TestServeRefusesBrokenTemplates(t *testing.T) {
	base := t.TempDir()
	write := func(name, file, body string) string {
		d := filepath.Join(base, name)
		os.MkdirAll(d, 0o755)
		if file != "" {
			os.WriteFile(filepath.Join(d, file), []byte(body), 0o644)
		}
		return d
	}
	tests := []struct {
		name, dir, want string
	}{
		{"missing directory", filepath.Join(base, "nosuch"), "server: templates directory: open " + filepath.Join(base, "nosuch") + ": no such file or directory"},
		{"unknown file", write("unknown", "choser.html", `x`),
			"server: templates: " + filepath.Join(base, "unknown", "choser.html") + ": not a template authflow uses (it uses layout.html, chooser.html, account.html, error.html, notfound.html)"},
		{"no define", write("nodefine", "chooser.html", `<h1>Sign in</h1>`),
			"server: templates: " + filepath.Join(base, "nodefine", "chooser.html") + `: defines no {{define "chooser"}}: the page needs it`},
		{"does not parse", write("parse", "error.html", "{{define \"error\"}}\n<h1>{{.Title}</h1>{{end}}"),
			"server: templates: " + filepath.Join(base, "parse", "error.html") + `: error.html:2: bad character U+007D '}'`},
		{"does not render", write("render", "notfound.html", `{{define "not_found"}}{{.Titel}}{{end}}`),
			"server: templates: " + filepath.Join(base, "render", "notfound.html") + `: page "not_found" does not render: notfound.html:1:24: executing "not_found" at <.Titel>: can't evaluate field Titel in type server.notFoundPage`},
		{"bad logo", "", `server: logo URL "javascript:alert(1)": want an https URL, a path on this server (/static/logo.png) or a data:image URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--strategies=../../testdata/spec_example.json"}
			if tc.dir != "" {
				args = append(args, "--templates-dir="+tc.dir)
			} else {
				args = append(args, "--logo-url=javascript:alert(1)")
			}
			_, err := tryServe(t, args...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("serve: %v\nwant: %s", err, tc.want)
			}
		})
	}
}
