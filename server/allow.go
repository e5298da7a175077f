package server

import (
	"net/url"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// Rules restrict a route to some of the signed-in users: a user must match
// one entry of each list that is not empty. The zero Rules allow everyone
// signed in.
//
// Emails and domains are compared byte for byte, except that ASCII letters
// match either case: no Unicode case folding, which would let "\u212Aate"
// (Kelvin sign) pass for "kate" or "\u017Fales.test" (long s) for
// "sales.test". An email matches only when it has exactly one '@', with
// something on both sides, and the IdP has not said it is unverified.
type Rules struct {
	// Groups: the user's groups claim (mapped "groups" first) must hold one,
	// compared exactly.
	Groups []string
	// Emails: the user's email must be one, ASCII case ignored.
	Emails []string
	// Domains: the user's email must be at one of these domains ("a.com"
	// or "@a.com"), ASCII case ignored; subdomains do not match.
	Domains []string
	// Scopes: a bearer token must hold every one (in its scope string or
	// scp array), else 403 insufficient_scope; a session, which has no
	// scopes, never passes rules with Scopes.
	Scopes []string
}

// RulesFromQuery reads allowed_groups, allowed_emails, allowed_domains and
// required_scopes (comma-separated lists, as /auth/verify takes them).
func RulesFromQuery(q url.Values) Rules {
	list := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" {
					out = append(out, e)
				}
			}
		}
		return out
	}
	return Rules{Groups: list("allowed_groups"), Emails: list("allowed_emails"), Domains: list("allowed_domains"),
		Scopes: list("required_scopes")}
}

// Empty reports whether the rules allow every signed-in user.
func (r Rules) Empty() bool {
	return len(r.Groups) == 0 && len(r.Emails) == 0 && len(r.Domains) == 0 && len(r.Scopes) == 0
}

// Allows reports whether u passes the rules. An email the IdP does not
// vouch for (email_verified present but not true) matches no email or
// domain rule: anyone can type an address into an account they control.
func (r Rules) Allows(u *User) bool { return r.allows(u) }

// allowSubject is what the rules read of a user: a *User, or a session's
// identity (/auth/verify, which reads no more of the session).
type allowSubject interface {
	groupList() []string
	emailAddr() string
	emailVerified() bool
}

func (r Rules) allows(u allowSubject) bool {
	if len(r.Scopes) > 0 {
		sc, ok := u.(interface{ scopeList() []string })
		if !ok || !hasScopes(sc.scopeList(), r.Scopes) {
			return false
		}
	}
	if len(r.Groups) > 0 && !slices.ContainsFunc(u.groupList(), func(g string) bool { return slices.Contains(r.Groups, g) }) {
		return false
	}
	if len(r.Emails) == 0 && len(r.Domains) == 0 {
		return true
	}
	email := u.emailAddr()
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !u.emailVerified() {
		return false
	}
	if len(r.Emails) > 0 && !slices.ContainsFunc(r.Emails, func(want string) bool {
		return equalFoldASCII(email, strings.TrimSpace(want))
	}) {
		return false
	}
	return len(r.Domains) == 0 || slices.ContainsFunc(r.Domains, func(want string) bool {
		return equalFoldASCII(domain, strings.TrimPrefix(strings.TrimSpace(want), "@"))
	})
}

// equalFoldASCII reports whether a and b are equal with ASCII letters
// compared case-insensitively; every other byte must be the same.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// emailVerified reports whether the user's email may be trusted: the
// email_verified claim (mapped first, else the user object's) is true or
// the string "true" (ASCII case ignored), or it is absent, as from IdPs
// that verify every address or never say (GitHub's /user). Any other value
// that is present — false, "False", 0, 1, "", null — is not verified.
func (u *User) emailVerified() bool {
	v, ok := u.Claims["email_verified"]
	if !ok {
		r := gjson.GetBytes(u.Raw, "email_verified")
		if !r.Exists() {
			return true
		}
		v = r.Value() // nil for null
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return equalFoldASCII(x, "true")
	}
	return false
}
