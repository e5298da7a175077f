package server_test

// Attacks on the allow-lists and the identity headers of /auth/verify, run
// against the end-to-end bench: the IdP's userinfo answer (which the "dev"
// strategy merges over the ID token's claims) carries what a user could
// give themselves at a lax IdP: a look-alike email, an odd email_verified,
// a group whose name holds a comma.

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
)

// withFields returns a rewrite that lays fields over a JSON object.
func withFields(fields map[string]any) func(body []byte) []byte {
	return func(body []byte) []byte {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return body
		}
		maps.Copy(m, fields)
		out, _ := json.Marshal(m)
		return out
	}
}

// loginWithUserinfo signs ada in with the dev strategy, the IdP's userinfo
// answer carrying fields (tp rewrites it), and checks that the session
// holds them (else the test would prove nothing).
func loginWithUserinfo(t *testing.T, b *authtest.Bench, tp *authtest.Rewriter, fields map[string]any) *authtest.Browser {
	t.Helper()
	tp.Arm(withFields(fields))
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	_, s := br.Session()
	user, _ := s["user"].(map[string]any)
	for k, want := range fields {
		got, _ := json.Marshal(user[k])
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Fatalf("the session's %s = %s, want %s (tamper did not apply)", k, got, w)
		}
	}
	return br
}

// TestAttackAllowListLookalikes: an email the allow-lists must not take
// for an allowed one — a Unicode letter that folds onto an ASCII one, a
// second @, an email_verified that is present but not true — through
// /auth/verify and through RequireAllowed (the bench's /admin/: group
// admins, domain example.test).
func TestAttackAllowListLookalikes(t *testing.T) {
	t.Parallel()
	tp := authtest.NewRewriter("/userinfo")
	b := authtest.New(t, authtest.Options{Tamper: tp.Tamper})
	for _, tc := range []struct {
		name     string
		userinfo map[string]any
		target   string
		want     int
	}{
		// Controls: the same targets admit a plain email, with ASCII case
		// ignored.
		{"control: verify, domain", map[string]any{"email": "Kate@Example.TEST"}, "/auth/verify?allowed_domains=example.test", http.StatusOK},
		{"control: verify, email", map[string]any{"email": "Kate@Example.TEST"}, "/auth/verify?allowed_emails=kate@example.test", http.StatusOK},
		{"control: RequireAllowed", map[string]any{"email": "kate@example.test", "email_verified": "true"}, "/admin/", http.StatusOK},

		{"Kelvin sign for K, allowed_emails", map[string]any{"email": "\u212Aate@example.test"}, "/auth/verify?allowed_emails=kate@example.test", http.StatusForbidden},
		{"long s in the domain, allowed_domains", map[string]any{"email": "kate@example.te\u017Ft"}, "/auth/verify?allowed_domains=example.test", http.StatusForbidden},
		{"long s in the domain, RequireAllowed", map[string]any{"email": "kate@example.te\u017Ft"}, "/admin/", http.StatusForbidden},
		{"two @, allowed_domains", map[string]any{"email": "mallory@evil.test@example.test"}, "/auth/verify?allowed_domains=example.test", http.StatusForbidden},
		{"two @, RequireAllowed", map[string]any{"email": "mallory@evil.test@example.test"}, "/admin/", http.StatusForbidden},
		{"email_verified \"False\"", map[string]any{"email_verified": "False"}, "/auth/verify?allowed_domains=example.test", http.StatusForbidden},
		{"email_verified 0", map[string]any{"email_verified": 0}, "/admin/", http.StatusForbidden},
		{"email_verified \"0\"", map[string]any{"email_verified": "0"}, "/auth/verify?allowed_emails=ada@example.test", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := loginWithUserinfo(t, b, tp, tc.userinfo)
			if p := br.Do(http.MethodGet, tc.target, nil, nil); p.Status != tc.want {
				t.Errorf("GET %s with userinfo %v: %d, want %d", tc.target, tc.userinfo, p.Status, tc.want)
			}
			// Refused, the session stays.
			if v := br.Verify(); v.Status != http.StatusOK {
				t.Errorf("plain /auth/verify afterwards: %d, want 200", v.Status)
			}
		})
	}
}

// TestAttackGroupsHeaderSplit: a group named "staff,admins" is one group to
// the allow-lists; X-Auth-Groups must not hand a comma-splitting upstream
// two groups, "staff" and "admins". Nor may a leading space, which HTTP and
// most splitters trim, make " admins" into "admins". Decoding the header as
// docs/forward-auth.md says gives back the groups exactly.
func TestAttackGroupsHeaderSplit(t *testing.T) {
	t.Parallel()
	tp := authtest.NewRewriter("/userinfo")
	b := authtest.New(t, authtest.Options{Tamper: tp.Tamper})
	groups := []any{"staff,admins", "devs", " admins", "100%", "\u00c9quipe Paris", "c++", "\u212Aitchen"}
	br := loginWithUserinfo(t, b, tp, map[string]any{"groups": groups, "email": "\u212Aate@example.test"})

	v := br.Verify()
	if v.Status != http.StatusOK {
		t.Fatalf("/auth/verify: %d", v.Status)
	}
	const wantHeader = "staff%2Cadmins,devs,%20admins,100%25,%C3%89quipe Paris,c%2B%2B,%E2%84%AAitchen"
	header := v.Header.Get("X-Auth-Groups")
	if header != wantHeader {
		t.Errorf("X-Auth-Groups = %q, want %q", header, wantHeader)
	}
	// An upstream that splits on commas and trims never sees "admins".
	for _, g := range strings.Split(header, ",") {
		if strings.TrimSpace(g) == "admins" {
			t.Errorf("X-Auth-Groups %q hands a comma-splitting upstream the group \"admins\"", header)
		}
	}
	var decoded []any
	for _, g := range strings.Split(header, ",") {
		d, err := url.PathUnescape(g)
		if err != nil {
			t.Fatalf("X-Auth-Groups element %q: %v", g, err)
		}
		decoded = append(decoded, d)
	}
	if !slices.Equal(decoded, groups) {
		t.Errorf("X-Auth-Groups decodes to %q, want %q", decoded, groups)
	}
	// The look-alike email reaches the upstream percent-encoded, so that an
	// upstream's own Unicode case folding cannot take it for kate@.
	if got, want := v.Header.Get("X-Auth-Email"), "%E2%84%AAate@example.test"; got != want {
		t.Errorf("X-Auth-Email = %q, want %q", got, want)
	}
	// The allow-list sees one group "staff,admins", not "admins".
	for _, target := range []string{"/auth/verify?allowed_groups=admins", "/admin/"} {
		if p := br.Do(http.MethodGet, target, nil, nil); p.Status != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", target, p.Status)
		}
	}
	if p := br.Do(http.MethodGet, "/auth/verify?allowed_groups=devs", nil, nil); p.Status != http.StatusOK {
		t.Errorf("GET /auth/verify?allowed_groups=devs: %d, want 200", p.Status)
	}
}
