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
type Rules struct {
	// Groups: the user's groups claim (mapped "groups" first) must hold one.
	Groups []string
	// Emails: the user's email must be one, compared case-insensitively.
	Emails []string
	// Domains: the user's email must be at one of these domains ("a.com"
	// or "@a.com"), compared case-insensitively; subdomains do not match.
	Domains []string
}

// RulesFromQuery reads allowed_groups, allowed_emails and allowed_domains
// (comma-separated lists, as /auth/verify takes them).
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
	return Rules{Groups: list("allowed_groups"), Emails: list("allowed_emails"), Domains: list("allowed_domains")}
}

// Empty reports whether the rules allow every signed-in user.
func (r Rules) Empty() bool { return len(r.Groups) == 0 && len(r.Emails) == 0 && len(r.Domains) == 0 }

// Allows reports whether u passes the rules. An email the IdP marks
// unverified ("email_verified": false) matches no email or domain rule:
// anyone can type an address into an account they control.
func (r Rules) Allows(u *User) bool {
	if len(r.Groups) > 0 && !slices.ContainsFunc(u.Groups(), func(g string) bool { return slices.Contains(r.Groups, g) }) {
		return false
	}
	if len(r.Emails) == 0 && len(r.Domains) == 0 {
		return true
	}
	email := u.Email()
	if email == "" || u.emailUnverified() {
		return false
	}
	if len(r.Emails) > 0 && !slices.ContainsFunc(r.Emails, func(want string) bool {
		return strings.EqualFold(email, strings.TrimSpace(want))
	}) {
		return false
	}
	if len(r.Domains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	return at >= 0 && slices.ContainsFunc(r.Domains, func(want string) bool {
		return strings.EqualFold(email[at+1:], strings.TrimPrefix(strings.TrimSpace(want), "@"))
	})
}

// emailUnverified reports whether the user object says, in so many words,
// that the email is not verified.
func (u *User) emailUnverified() bool {
	if v, ok := u.Claims["email_verified"]; ok {
		b, isBool := v.(bool)
		return isBool && !b || v == "false"
	}
	r := gjson.GetBytes(u.Raw, "email_verified")
	return r.Exists() && (r.Type == gjson.False || r.String() == "false")
}
