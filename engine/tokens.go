package engine

import (
	"time"

	"github.com/tidwall/gjson"
)

// Tokens are the tokens of a login, kept server-side on the session.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"` // zero: the IdP gave no expires_in
}

// Expired reports whether the access token expires within skew of now.
func (t Tokens) Expired(now time.Time, skew time.Duration) bool {
	return !t.Expiry.IsZero() && !now.Add(skew).Before(t.Expiry)
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
	if exp := gjson.GetBytes(doc, "expires_in"); exp.Exists() && exp.Int() > 0 {
		t.Expiry = now.Add(time.Duration(exp.Int()) * time.Second)
	} else if prev.AccessToken != t.AccessToken {
		t.Expiry = time.Time{}
	}
	return t
}
