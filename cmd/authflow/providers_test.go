package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/authflow/authflow/strategies"
)

// TestProvidersDocsColumn: every built-in has a row whose last column is an
// absolute https URL: its "docs" key, or docs/providers.md.
func TestProvidersDocsColumn(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "providers")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if head := strings.Fields(lines[0]); head[len(head)-1] != "DOCS" {
		t.Fatalf("header %q: want DOCS last", lines[0])
	}
	rows := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[len(f)-1]
	}
	for _, b := range strategies.Catalogue() {
		docs, ok := rows[b.Name]
		if !ok {
			t.Errorf("no row for %s", b.Name)
			continue
		}
		u, err := url.Parse(docs)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("%s: docs %q is not an absolute https URL", b.Name, docs)
		}
		if b.Docs != "" && docs != b.Docs {
			t.Errorf("%s: docs column %q, want the built-in's docs key %q", b.Name, docs, b.Docs)
		}
		if b.Docs == "" && docs != providersDocs {
			t.Errorf("%s: no docs key, so the column should point at docs/providers.md, got %q", b.Name, docs)
		}
	}
	if rows["google"] != "https://developers.google.com/identity/openid-connect/openid-connect" {
		t.Errorf("google's docs: %q", rows["google"])
	}
}
