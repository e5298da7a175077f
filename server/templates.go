package server

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/authflow/authflow"
)

// pageFiles are the template files of the server's pages, in parse order,
// and the templates each must define. Config.TemplatesDir may replace any
// of them, file by file.
var pageFiles = []struct {
	file    string
	defines []string
}{
	{"layout.html", []string{"brand", "signed_out_note"}},
	{"chooser.html", []string{"chooser"}},
	{"account.html", []string{"account"}},
	{"error.html", []string{"error"}},
	{"notfound.html", []string{"not_found"}},
}

// PageFiles returns the names of the template files a templates directory
// (Config.TemplatesDir) may hold.
func PageFiles() []string {
	out := make([]string, len(pageFiles))
	for i, p := range pageFiles {
		out[i] = p.file
	}
	return out
}

// strategyLink is one button of the chooser.
type strategyLink struct{ Label, URL string }

// chooserPage is the data of the "chooser" template.
type chooserPage struct {
	// Strategies are the buttons, in the file's order.
	Strategies []strategyLink
	// ReturnTo is where the browser goes after the login (a path on this
	// server, already checked), or "".
	ReturnTo string
}

// accountPage is the data of the "account" template, at GET /.
type accountPage struct {
	SignedIn   bool
	Name       string    // the name claim, else the email, else the subject
	Email      string    // "" when unknown
	Subject    string    // the user's sub
	Strategy   string    // the label of the strategy signed in with
	Expires    time.Time // when the session ends at the latest
	SignOutURL string    // "/auth/signout", for a POST form
	SignInURL  string    // "/auth/login"
}

// notFoundPage is the data of the "not_found" template.
type notFoundPage struct {
	Title, Message string
	Path           string // the path asked for, or ""
}

// loadPages parses the pages: the embedded templates, each file replaced
// by the one of the same name in dir when dir is not "". Every page is
// rendered once with sample data, so a template that parses but fails on
// its data (a field that does not exist) is refused here, at start, with
// the file's name, rather than on a user's request.
func loadPages(dir, appName, logoURL string) (*template.Template, error) {
	overrides := map[string]bool{}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("server: templates directory: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".html") {
				continue
			}
			if !slices.Contains(PageFiles(), name) {
				return nil, fmt.Errorf("server: templates: %s: not a template authflow uses (it uses %s)",
					filepath.Join(dir, name), strings.Join(PageFiles(), ", "))
			}
			overrides[name] = true
		}
	}
	funcs := template.FuncMap{
		"appName": func() string { return appName },
		"logoURL": func() template.URL { return template.URL(logoURL) }, // checked by imageSource
	}
	root := template.New("").Funcs(funcs)
	for _, p := range pageFiles {
		where := "templates/" + p.file + " (embedded)"
		var src []byte
		var err error
		if overrides[p.file] {
			where = filepath.Join(dir, p.file)
			src, err = os.ReadFile(where)
		} else {
			src, err = fs.ReadFile(authflow.Templates, "templates/"+p.file)
		}
		if err != nil {
			return nil, fmt.Errorf("server: templates: %w", err)
		}
		// Each file parsed alone first, so that a missing define is
		// reported against the file that should hold it.
		alone, err := template.New(p.file).Funcs(funcs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("server: templates: %s: %w", where, trimTemplateErr(err))
		}
		for _, d := range p.defines {
			if alone.Lookup(d) == nil {
				return nil, fmt.Errorf("server: templates: %s: defines no {{define %q}}: the page needs it", where, d)
			}
		}
		if _, err := root.New(p.file).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("server: templates: %s: %w", where, trimTemplateErr(err))
		}
	}
	if err := checkPages(root, func(name string) string {
		for _, p := range pageFiles {
			if slices.Contains(p.defines, name) {
				if overrides[p.file] {
					return filepath.Join(dir, p.file)
				}
				return "templates/" + p.file + " (embedded)"
			}
		}
		return name
	}); err != nil {
		return nil, err
	}
	return root, nil
}

// checkPages renders every page with sample data of the kind it gets.
func checkPages(t *template.Template, fileOf func(string) string) error {
	samples := []struct {
		name string
		data any
	}{
		{"chooser", chooserPage{Strategies: []strategyLink{{"Okta", "/auth/okta/login"}, {"GitHub", "/auth/github/login"}}, ReturnTo: "/app"}},
		{"chooser", chooserPage{Strategies: []strategyLink{{"Okta", "/auth/okta/login"}}}},
		{"account", accountPage{SignedIn: true, Name: "Ada", Email: "ada@example.com", Subject: "1", Strategy: "Okta",
			Expires: time.Unix(0, 0), SignOutURL: "/auth/signout", SignInURL: "/auth/login"}},
		{"account", accountPage{SignOutURL: "/auth/signout", SignInURL: "/auth/login"}},
		{"error", failure{Status: 400, Title: "Title", Message: "Message", Retry: "/auth/login", Ref: "REF"}},
		{"not_found", notFoundPage{Title: "Page not found", Message: "Nothing here", Path: "/x"}},
	}
	for _, s := range samples {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, s.name, s.data); err != nil {
			return fmt.Errorf("server: templates: %s: page %q does not render: %w", fileOf(s.name), s.name, trimTemplateErr(err))
		}
	}
	return nil
}

// trimTemplateErr drops html/template's "html/template:" and "template:"
// prefixes: the message names the file already.
func trimTemplateErr(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "html/template:")
	msg = strings.TrimPrefix(msg, "template: ")
	return errors.New(strings.TrimSpace(msg))
}

// imageSource returns the Content-Security-Policy img-src source that lets
// pages show logo: 'self' for a path on this server, the origin of an
// http(s) URL, data: for a data:image URL; "" for no logo.
func imageSource(logo string) (string, error) {
	switch {
	case logo == "":
		return "", nil
	case strings.HasPrefix(logo, "data:image/"):
		return "data:", nil
	case strings.HasPrefix(logo, "/") && !strings.HasPrefix(logo, "//"):
		return "'self'", nil
	}
	u, err := url.Parse(logo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		strings.ContainsAny(logo, " ;,'\"") {
		return "", fmt.Errorf("server: logo URL %q: want an https URL, a path on this server (/static/logo.png) or a data:image URL", logo)
	}
	return u.Scheme + "://" + u.Host, nil
}

// pageCSP is the Content-Security-Policy of every page: nothing but inline
// styles, forms posting to this server, and images from imgSrc when the
// pages show a logo.
func pageCSP(imgSrc string) []string {
	csp := "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if imgSrc != "" {
		csp += "; img-src " + imgSrc
	}
	return []string{csp}
}
