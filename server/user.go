package server

import (
	"context"
	"encoding/json"
	"fmt"
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
	AccessTokenExpiry time.Time
}

type userKey struct{}

// UserFrom returns the user that Require put in ctx.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok
}

func (rec *record) user() *User {
	return &User{Strategy: rec.Strategy, Subject: rec.Subject, Claims: rec.Claims, Raw: rec.User,
		AccessTokenExpiry: rec.Tokens.Expiry}
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
func (u *User) Email() string { return u.claim("email") }

// Groups returns the user's groups: the mapped "groups" claim (or the user
// object's), a string or an array of strings.
func (u *User) Groups() []string {
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
