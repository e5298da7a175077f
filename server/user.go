package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// User is the signed-in user of a request, as Require puts it in the
// request's context.
type User struct {
	// Strategy is the strategy the user signed in with.
	Strategy string
	// Subject is the user's stable id at the IdP (the sub claim, or the
	// strategy's mapped "sub").
	Subject string
	// Claims are the strategy's mapped claims ("claims" key).
	Claims map[string]any
	// Raw is the user object: the ID token's claims merged with userinfo,
	// or the user API's answer.
	Raw json.RawMessage
	// AccessTokenExpiry is when the access token expires; zero if unknown.
	// For a bearer request, the bearer token's exp.
	AccessTokenExpiry time.Time
	// Bearer reports that the request was judged by its bearer token
	// (Authorization: Bearer) rather than a session; Raw is then the
	// token's claims or its introspection answer.
	Bearer bool
	// Scopes are the bearer token's scopes; nil for a session.
	Scopes []string

	// email and groups, read once from Claims and Raw (ready).
	email  string
	groups []string
	ready  bool
}

type userKey struct{}

// UserFrom returns the user that Require put in ctx.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok
}

// clone returns a copy of u for the application's handler (UserFrom):
// the session's own User is shared by every request, so the handler gets
// a Claims map and a Raw of its own. Values nested inside claims are still
// shared and must only be read.
func (u *User) clone() *User {
	c := *u
	c.Claims = maps.Clone(u.Claims)
	c.Raw = slices.Clone(u.Raw)
	c.groups = slices.Clone(u.groups)
	c.Scopes = slices.Clone(u.Scopes)
	return &c
}

// newUser returns the User of a session's identity, its email and groups
// read from the claims once.
func newUser(strategy, subject string, claims map[string]any, raw json.RawMessage, expiry time.Time) *User {
	u := &User{Strategy: strategy, Subject: subject, Claims: claims, Raw: raw, AccessTokenExpiry: expiry}
	u.email, u.groups, u.ready = u.claim("email"), u.readGroups(), true
	return u
}

// claim returns a claim as a string: the mapped claim when the strategy
// maps it, else the user object's field; "" when absent.
func (u *User) claim(name string) string {
	if v, ok := u.Claims[name]; ok {
		return stringify(v)
	}
	return gjson.GetBytes(u.Raw, name).String()
}

// Email returns the user's email address, or "".
func (u *User) Email() string {
	if u.ready {
		return u.email
	}
	return u.claim("email")
}

func (u *User) emailAddr() string { return u.Email() }

// scopeList is the bearer token's scopes, for Rules.Scopes.
func (u *User) scopeList() []string { return u.Scopes }

// Groups returns the user's groups: the mapped "groups" claim (or the user
// object's), a string or an array of strings.
func (u *User) Groups() []string { return slices.Clone(u.groupList()) }

// groupList is Groups without the copy, for authflow's own reads.
func (u *User) groupList() []string {
	if u.ready {
		return u.groups
	}
	return u.readGroups()
}

func (u *User) readGroups() []string {
	var v any
	if m, ok := u.Claims["groups"]; ok {
		v = m
	} else if r := gjson.GetBytes(u.Raw, "groups"); r.Exists() {
		v = r.Value()
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s := stringify(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// View is the JSON shape of /auth/session: the user object with the mapped
// claims laid over it. Tokens never appear.
func (u *User) view() map[string]any {
	out := map[string]any{}
	json.Unmarshal(u.Raw, &out)
	for k, v := range u.Claims {
		out[k] = v
	}
	return out
}
