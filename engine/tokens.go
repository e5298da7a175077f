package engine

import (
	"time"

	"github.com/tidwall/gjson"
)

// maxTokenLifetime caps an expires_in: a longer one (or one that does not
// fit a time.Duration) is read as ten years.
const maxTokenLifetime = 10 * 365 * 24 * time.Hour

// Tokens are the tokens of a login, kept server-side on the session.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"` // zero: the IdP gave no expires_in
	// Issued is when the access token was received, with Expiry: its
	// lifetime is Expiry - Issued. Zero when unknown.
	Issued time.Time `json:"issued,omitzero"`
}

// RefreshDue reports whether the access token should be refreshed at now:
// once it expires within skew, or, for a token that lives shorter than
// twice the skew, once less than half of its life remains — so that a
// short-lived token is not refreshed on every request. A token without an
// expiry is never due.
func (t Tokens) RefreshDue(now time.Time, skew time.Duration) bool {
	if t.Expiry.IsZero() {
		return false
	}
	if life := t.Expiry.Sub(t.Issued); !t.Issued.IsZero() && life < 2*skew {
		skew = life / 2
	}
	return !now.Add(skew).Before(t.Expiry)
}

// tokensFrom reads a token endpoint answer (RFC 6749 §5.1) over prev: a
// field the answer omits keeps its previous value, so a refresh answer
// without a new refresh_token keeps the old one.
func tokensFrom(doc []byte, prev Tokens, now time.Time) Tokens {
	t := prev
	get := func(k string) string { return gjson.GetBytes(doc, k).String() }
	if v := get("access_token"); v != "" {
		t.AccessToken = v
	}
	if v := get("token_type"); v != "" {
		t.TokenType = v
	}
	if v := get("refresh_token"); v != "" {
		t.RefreshToken = v
	}
	if v := get("id_token"); v != "" {
		t.IDToken = v
	}
	if life, ok := lifetime(gjson.GetBytes(doc, "expires_in")); ok {
		t.Expiry, t.Issued = now.Add(life), now
	} else if prev.AccessToken != t.AccessToken {
		t.Expiry, t.Issued = time.Time{}, time.Time{}
	}
	return t
}

// lifetime reads expires_in defensively: a positive number of seconds (or
// its decimal text), capped at maxTokenLifetime.
func lifetime(v gjson.Result) (time.Duration, bool) {
	if v.Type != gjson.Number && v.Type != gjson.String {
		return 0, false
	}
	secs := v.Float()
	if !(secs > 0) { // also NaN
		return 0, false
	}
	if secs >= maxTokenLifetime.Seconds() {
		return maxTokenLifetime, true
	}
	return time.Duration(secs * float64(time.Second)), true
}
