package server

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
)

func TestRulesFromQuery(t *testing.T) {
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
		{"mapped email", user(`{"email":"raw@a.com"}`, map[string]any{"email": "Mapped@B.com"}), Rules{Domains: []string{"b.com"}}, true},
		{"no email", user(`{}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified false (raw)", user(`{"email":"e@a.com","email_verified":false}`, nil), Rules{Emails: []string{"e@a.com"}}, false},
		{"email_verified \"false\" (raw string)", user(`{"email":"e@a.com","email_verified":"false"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified false (mapped)", user(`{"email":"e@a.com"}`, map[string]any{"email_verified": false}), Rules{Domains: []string{"a.com"}}, false},
		{"email_verified true", user(`{"email":"e@a.com","email_verified":true}`, nil), Rules{Domains: []string{"a.com"}}, true},
		{"email_verified absent", user(`{"email":"e@a.com"}`, nil), Rules{Emails: []string{" E@A.com "}}, true},
		{"domain trick: evil domain containing the allowed one", user(`{"email":"e@a.com.evil.test"}`, nil), Rules{Domains: []string{"a.com"}}, false},
		{"domain trick: two @", user(`{"email":"e@a.com@evil.test"}`, nil), Rules{Domains: []string{"a.com"}}, false},
	}
	for _, tc := range tests {
		if got := tc.rules.Allows(tc.u); got != tc.want {
			t.Errorf("%s: Allows = %v, want %v", tc.name, got, tc.want)
		}
	}
}
