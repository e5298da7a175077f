package server

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
)

func TestRulesFromQuery(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("allowed_groups=a,%20b,,&allowed_groups=c&allowed_emails=x@y.z&allowed_domains=")
	got := RulesFromQuery(q)
	want := Rules{Groups: []string{"a", "b", "c"}, Emails: []string{"x@y.z"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RulesFromQuery = %+v, want %+v", got, want)
	}
	if !(Rules{}).Empty() || want.Empty() {
		t.Error("Empty is wrong")
	}
}

func TestRulesAllow(t *testing.T) {
	t.Parallel()
	user := func(raw string, claims map[string]any) *User {
		return &User{Raw: json.RawMessage(raw), Claims: claims}
	}
	tests := []struct {
		name  string
		u     *User
		rules Rules
		want  bool
	}{
		{"no rules", user(`{}`, nil), Rules{}, true},
		{"groups from the raw object", user(`{"groups":["x","y"]}`, nil), Rules{Groups: []string{"y"}}, true},
		{"a single group as a string", user(`{"groups":"x"}`, nil), Rules{Groups: []string{"x"}}, true},
		{"mapped groups win over raw", user(`{"groups":["x"]}`, map[string]any{"groups": []any{"mapped"}}), Rules{Groups: []string{"x"}}, false},
		{"mapped groups match", user(`{}`, map[string]any{"groups": []any{"realm-admin"}}), Rules{Groups: []string{"realm-admin"}}, true},
		{"no groups", user(`{}`, nil), Rules{Groups: []string{"x"}}, false},
		{"a group holding a comma is one group", user(`{"groups":["staff,admins"]}`, nil), Rules{Groups: []string{"admins"}}, false},
		{"groups are compared exactly", user(`{"groups":["Admins"]}`, nil), Rules{Groups: []string{"admins"}}, false},
		{"mapped email", user(`{"email":"raw@a.com"}`, map[string]any{"email": "Mapped@B.com"}), Rules{Domains: []string{"b.com"}}, true},
		{"no email", user(`{}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"domain trick: evil domain containing the allowed one", user(`{"email":"e@a.com.evil.test"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"domain trick: two @", user(`{"email":"e@a.com@evil.test"}`, nil), Rules{Domains: []string{"a.com"}}, false},

		// ASCII case folding only: other letters that Unicode folds onto
		// ASCII ones must not match.
		{"ASCII case is ignored (email)", user(`{"email":"Kate@Corp.TEST"}`, nil), Rules{Emails: []string{"kate@corp.test"}}, true},
		{"ASCII case is ignored (domain)", user(`{"email":"kate@Corp.TEST"}`, nil), Rules{Domains: []string{"@CORP.test"}}, true},
		{"Kelvin sign K is not k", user(`{"email":"\u212Aate@corp.test"}`, nil), Rules{Emails: []string{"kate@corp.test"}}, false},
		{"Kelvin sign in the rule is not k", user(`{"email":"kate@corp.test"}`, nil), Rules{Emails: []string{"\u212Aate@corp.test"}}, false},
		{"long s is not s (domain)", user(`{"email":"admin@\u017Fales.test"}`, nil), Rules{Domains: []string{"sales.test"}}, false},
		{"long s is not s (email)", user(`{"email":"admin@\u017Fales.test"}`, nil), Rules{Emails: []string{"admin@sales.test"}}, false},
		{"non-ASCII matches itself", user(`{"email":"j\u00fcrgen@b\u00fccher.test"}`, nil), Rules{Emails: []string{"j\u00fcrgen@b\u00fccher.test"}}, true},
		{"non-ASCII case is not folded", user(`{"email":"J\u00dcRGEN@corp.test"}`, nil), Rules{Emails: []string{"j\u00fcrgen@corp.test"}}, false},

		// An email must have exactly one @ with something on both sides.
		{"two @: domain after the second", user(`{"email":"mallory@evil.test@corp.test"}`, nil), Rules{Domains: []string{"corp.test"}}, false},
		{"two @: the same string as email rule", user(`{"email":"mallory@evil.test@corp.test"}`, nil), Rules{Emails: []string{"mallory@evil.test@corp.test"}}, false},
		{"quoted @ in the local part", user(`{"email":"\"mallory@evil.test\"@corp.test"}`, nil), Rules{Domains: []string{"corp.test"}}, false},
		{"no local part", user(`{"email":"@corp.test"}`, nil), Rules{Domains: []string{"corp.test"}}, false},
		{"no domain", user(`{"email":"kate@"}`, nil), Rules{Domains: []string{"@"}}, false},
		{"no @", user(`{"email":"corp.test"}`, nil), Rules{Domains: []string{"corp.test"}}, false},

		// email_verified: only true (or "true") counts as verified; absent
		// is trusted, as before (IdPs such as GitHub's /user never send it).
		{"email_verified absent", user(`{"email":"e@a.com"}`, nil), Rules{Emails: []string{" E@A.com "}}, true},
		{"email_verified true", user(`{"email":"e@a.com","email_verified":true}`, nil), Rules{Domains: []string{"a.com"}}, true},
		{"email_verified \"true\"", user(`{"email":"e@a.com","email_verified":"true"}`, nil), Rules{Domains: []string{"a.com"}}, true},
		{"email_verified \"TRUE\"", user(`{"email":"e@a.com","email_verified":"TRUE"}`, nil), Rules{Domains: []string{"a.com"}}, true},
		{"email_verified true (mapped)", user(`{"email":"e@a.com","email_verified":false}`, map[string]any{"email_verified": true}), Rules{Domains: []string{"a.com"}}, true},
		{"email_verified false (raw)", user(`{"email":"e@a.com","email_verified":false}`, nil), Rules{Emails: []string{"e@a.com"}}, false},
		{"email_verified \"false\" (raw string)", user(`{"email":"e@a.com","email_verified":"false"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified false (mapped)", user(`{"email":"e@a.com"}`, map[string]any{"email_verified": false}), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified \"False\"", user(`{"email":"e@a.com","email_verified":"False"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified \"FALSE\" (mapped)", user(`{"email":"e@a.com"}`, map[string]any{"email_verified": "FALSE"}), Rules{Emails: []string{"e@a.com"}}, false},
		{"email_verified 0", user(`{"email":"e@a.com","email_verified":0}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified 0 (mapped)", user(`{"email":"e@a.com"}`, map[string]any{"email_verified": float64(0)}), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified 1", user(`{"email":"e@a.com","email_verified":1}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified \"no\"", user(`{"email":"e@a.com","email_verified":"no"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified \"\"", user(`{"email":"e@a.com","email_verified":""}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified \" true\"", user(`{"email":"e@a.com","email_verified":" true"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified null", user(`{"email":"e@a.com","email_verified":null}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified an object", user(`{"email":"e@a.com","email_verified":{}}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified unverified, group rule only", user(`{"email":"e@a.com","email_verified":"False","groups":["g"]}`, nil), Rules{Groups: []string{"g"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rules.Allows(tc.u); got != tc.want {
				t.Errorf("Allows = %v, want %v (rules %+q)", got, tc.want, tc.rules)
			}
		})
	}
}
