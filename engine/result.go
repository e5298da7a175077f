package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/tidwall/gjson"
)

// Result is what a successful login produces.
type Result struct {
	// Strategy is the strategy's name.
	Strategy string
	// User is the user object: the result of the jwt (or jwt_key) step,
	// with a following userinfo step's fields merged in.
	User json.RawMessage
	// Claims are the strategy's mapped claims (the "claims" key), read from
	// the user object or a login step's result. Absent paths are left out.
	Claims map[string]any
	// Tokens are the token step's tokens.
	Tokens Tokens

	subject string // set by Exchange
}

// Subject returns the user's subject: the mapped "sub" claim when the
// strategy maps one (GitHub's numeric "id"), else the user object's "sub".
// It is a non-empty string; an integer is written as its decimal text.
// Exchange fails a login without one; for a Result made otherwise, Subject
// returns "" when there is none.
func (r *Result) Subject() string {
	if r.subject != "" {
		return r.subject
	}
	v, ok := r.Claims["sub"]
	if !ok {
		v = gjson.GetBytes(r.User, "sub").Value()
	}
	sub, _ := subjectText(v)
	return sub
}

// maxExactInteger is the largest integer a JSON number keeps exactly as a
// float64 (2^53), the form claims take.
const maxExactInteger = 1 << 53

// subjectText returns a subject value as text: a non-empty string as it
// is, an integer (GitHub's id) as its decimal text. Anything else (absent,
// null, "", an object, an array, a boolean, a fraction, an integer too
// large to be exact) is no subject.
func subjectText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		if x != "" {
			return x, nil
		}
		return "", errors.New("empty")
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxExactInteger {
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return "", errors.New("a number that is not an exact integer")
	case nil:
		return "", errors.New("absent or null")
	default:
		return "", fmt.Errorf("%s, not a string or an integer", jsonKind(v))
	}
}

// jsonKind names the JSON type of a decoded value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// subject finds the login's subject: the mapped sub claim when the
// strategy maps one (then it must be there: a user object's sub does not
// stand in for it), else the user object's sub.
func (s *Strategy) subject(res *Result) (string, error) {
	v, from := gjson.GetBytes(res.User, "sub").Value(), "the user object's sub"
	for _, c := range s.plan.Claims() {
		if c.Name == "sub" {
			path := c.Path
			if c.Step != "" {
				path = c.Step + "." + c.Path
			}
			v, from = res.Claims["sub"], fmt.Sprintf("the mapped sub claim (%q)", path)
		}
	}
	sub, err := subjectText(v)
	if err != nil {
		return "", fmt.Errorf("%w: %w: %s is %v", ErrBadResponse, ErrNoSubject, from, err)
	}
	return sub, nil
}
