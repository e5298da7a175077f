package devidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// User is an account that can sign in on the login page.
type User struct {
	// ID is the subject (sub claim). Default: Username. Unique; it may not
	// contain ':', which the op package's opaque access tokens reserve.
	ID string
	// Username is the login name and the preferred_username claim.
	// Required, unique.
	Username string
	// Password is compared as given: a development IdP stores no hashes of
	// configured passwords. Required.
	Password string
	// Email and EmailVerified are the email and email_verified claims
	// (scope email).
	Email         string
	EmailVerified bool
	// Name is the name claim (scope profile).
	Name string
	// Groups is the groups claim (scope profile or groups).
	Groups []string
}

// userDirectory holds the configured users. It does not change after New.
type userDirectory struct {
	byID       map[string]*User
	byUsername map[string]*User
	ordered    []*User // as configured, for the login page's hints
}

// newUserDirectory checks and copies the configured users.
func newUserDirectory(configured []User) (*userDirectory, error) {
	d := &userDirectory{byID: map[string]*User{}, byUsername: map[string]*User{}}
	for i, u := range configured {
		if u.Username == "" || u.Password == "" {
			return nil, fmt.Errorf("devidp: user %d: Username and Password are required", i)
		}
		if u.ID == "" {
			u.ID = u.Username
		}
		if strings.Contains(u.ID, ":") {
			return nil, fmt.Errorf("devidp: user %q: ID %q may not contain ':'", u.Username, u.ID)
		}
		if _, dup := d.byID[u.ID]; dup {
			return nil, fmt.Errorf("devidp: user ID %q: configured twice", u.ID)
		}
		if _, dup := d.byUsername[u.Username]; dup {
			return nil, fmt.Errorf("devidp: username %q: configured twice", u.Username)
		}
		u.Groups = slices.Clone(u.Groups)
		d.byID[u.ID], d.byUsername[u.Username] = &u, &u
		d.ordered = append(d.ordered, &u)
	}
	return d, nil
}

// authenticate returns the user whose username and password these are. The
// password comparison takes the same time whether the username exists or not.
func (d *userDirectory) authenticate(username, password string) (*User, bool) {
	u, known := d.byUsername[username]
	want := sha256.Sum256([]byte("\x00 no such user"))
	if known {
		want = sha256.Sum256([]byte(u.Password))
	}
	got := sha256.Sum256([]byte(password))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !known {
		return nil, false
	}
	return u, true
}

// setUserinfo fills info with the claims of user id that scopes grant. The
// subject is always set: the op package copies it into the ID token's sub.
func (d *userDirectory) setUserinfo(info *oidc.UserInfo, id string, scopes []string) error {
	u, ok := d.byID[id]
	if !ok {
		return fmt.Errorf("devidp: unknown user %q", id)
	}
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Username
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.EmailVerified)
		// oidc.UserInfo omits a false email_verified; the extra claim keeps
		// it (a true one from the field wins when the claims are merged).
		info.AppendClaims("email_verified", u.EmailVerified)
	}
	if (slices.Contains(scopes, oidc.ScopeProfile) || slices.Contains(scopes, scopeGroups)) && len(u.Groups) > 0 {
		info.AppendClaims("groups", slices.Clone(u.Groups))
	}
	return nil
}
