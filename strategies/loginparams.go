package strategies

import (
	"regexp"
	"slices"
	"strings"

	"github.com/authflow/authflow/interp"
)

// Limits of one login's parameters (login_params): they travel sealed in
// the login cookie, which must stay under browsers' 4 KiB.
const (
	// MaxLoginParamValue bounds one value, in bytes, whatever its pattern.
	MaxLoginParamValue = 256
	// MaxLoginParamsTotal bounds the names and values of one login's
	// parameters together, in bytes.
	MaxLoginParamsTotal = 1024
)

// LoginParam is one allow-listed parameter of GET /auth/NAME/login.
type LoginParam struct {
	Name string
	// Pattern matches the whole value: the pattern as written, anchored
	// at both ends.
	Pattern *regexp.Regexp
}

// LoginParams returns the strategy's allow-listed login parameters, sorted
// by name; nil when it has none.
func (sp *StrategyPlan) LoginParams() []LoginParam { return slices.Clone(sp.loginParams) }

// FormPost reports whether the IdP returns the callback's parameters in a
// form the browser POSTs (response_mode form_post).
func (sp *StrategyPlan) FormPost() bool { return sp.def.ResponseMode == ResponseModeFormPost }

// RefreshUserinfo reports whether the userinfo step runs again after each
// refresh (refresh_userinfo).
func (sp *StrategyPlan) RefreshUserinfo() bool { return sp.def.RefreshUserinfo }

// loginParamName is what a login parameter's name may be.
var loginParamName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// reservedLoginParams are the parameters the engine or the server set, or
// that would redirect or widen the login: no login_params entry may take
// them. (return_to is the login route's own.)
var reservedLoginParams = []string{"return_to", "state", "nonce", "code_challenge", "code_challenge_method",
	"client_id", "client_secret", "redirect_uri", "response_type", "response_mode", "request", "request_uri", "code_verifier"}

// compileLoginParam anchors a login parameter's pattern at both ends.
func compileLoginParam(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// checkLoginParams reports login_params entries that cannot work or would
// be unsafe: a bad name, a reserved one, one auth_uri already sends, an
// empty or broken pattern.
func (c *compiler) checkLoginParams() {
	r, st := c.r, c.st
	if st.LoginParams == nil {
		return
	}
	var placed []string
	reads := map[string]bool{} // ${login.NAME} in auth_uri
	for _, f := range c.fields {
		if f.step == "" && f.name == "auth_uri" && f.t != nil {
			placed = literalParams(f.t)
			for _, r := range f.t.Refs() {
				if r.Root == RootLoginParam {
					reads[r.Path] = true
				}
			}
		}
	}
	for _, k := range sortedKeys(st.LoginParams) {
		field := "login_params." + k
		switch {
		case !loginParamName.MatchString(k):
			r.errorf(st.Name, "", field, "a parameter name is a letter, then letters, digits, '_', '.' or '-', at most 64")
			continue
		case slices.Contains(reservedLoginParams, k):
			r.errorf(st.Name, "", field, "%q is set by authflow or fixes where the login goes; it cannot come from the login request", k)
			continue
		case slices.Contains(placed, k) && !reads[k]:
			r.errorf(st.Name, "", field, "auth_uri sends %s itself; to let the request choose it, write %s=${%s.%s} in auth_uri", k, k, RootLoginParam, k)
		}
		p := st.LoginParams[k]
		if p == "" {
			r.errorf(st.Name, "", field, "empty pattern: give a regular expression the whole value must match, e.g. \"^(login|consent)$\"")
			continue
		}
		if _, err := regexp.Compile(p); err != nil {
			r.errorf(st.Name, "", field, "not a regular expression (Go RE2 syntax): %v", err)
		} else if _, err := compileLoginParam(p); err != nil {
			r.errorf(st.Name, "", field, "not a regular expression (Go RE2 syntax): %v", err)
		}
	}
}

// literalParams returns the names of the query parameters a URI template
// writes as literal text (not as a placeholder's value).
func literalParams(t *interp.Template) []string {
	var out []string
	for _, p := range placedParams(t) {
		isRoot := false
		for _, r := range t.Refs() {
			if r.Root == p {
				isRoot = true
			}
		}
		if !isRoot {
			out = append(out, p)
		}
	}
	return out
}

// hostLabelBefore and hostLabelAfter are what must surround a login
// parameter that forms a label of a URI's host: the scheme and any labels
// before it, then a dot and at least two more labels, all literal, ending
// the host (a port may follow).
var (
	hostLabelBefore = regexp.MustCompile(`^https?://([A-Za-z0-9-]+\.)*$`)
	hostLabelAfter  = regexp.MustCompile(`^(\.[A-Za-z0-9-]+){2,}(:[0-9]+)?([/?#]|$)`)
)

// hostLabelOK reports whether the i-th placeholder of URI template f forms
// one label of the host whose other labels are literal text:
// https://${login.shop}.myshopify.com/…. At run time the value must be a
// DNS label (interp.Param), so the host stays under the literal domain.
func hostLabelOK(f *Template, i int) bool {
	if f.t == nil || f.refs[i].Source != FromLoginParam {
		return false
	}
	after := f.t.Literal(i + 1)
	m := hostLabelAfter.FindString(after)
	if !hostLabelBefore.MatchString(f.t.Literal(i)) || m == "" {
		return false
	}
	// The host must end within this literal, not run on into another
	// placeholder.
	return strings.ContainsAny(m[len(m)-1:], "/?#") || (i+1 == len(f.refs) && m == after)
}

// checkCallbackModes reports a response_mode that is not one authflow
// handles, an auth_uri that asks for form_post without the key, and a
// refresh_userinfo that cannot run.
func (c *compiler) checkCallbackModes() {
	r, st := c.r, c.st
	switch st.ResponseMode {
	case "", ResponseModeQuery, ResponseModeFormPost:
	default:
		r.errorf(st.Name, "", "response_mode", "%q is not one of %q, %q", st.ResponseMode, ResponseModeQuery, ResponseModeFormPost)
	}
	if st.ResponseMode != ResponseModeFormPost && strings.Contains(st.AuthURI, "response_mode=form_post") {
		r.errorf(st.Name, "", "auth_uri", "asks for response_mode=form_post, but the callback accepts a POST only with \"response_mode\": \"form_post\" (which also adds the parameter)")
	}
	if !st.RefreshUserinfo {
		return
	}
	u := st.Step(StepUserinfo)
	switch {
	case u == nil || u.IsDecode() || st.UserStep() == StepUserinfo:
		r.errorf(st.Name, "", "refresh_userinfo", "needs an HTTP step named %q after the user step: it is what runs again", StepUserinfo)
		return
	case st.Step(StepRefresh) == nil:
		r.errorf(st.Name, "", "refresh_userinfo", "the strategy has no %q step: nothing refreshes", StepRefresh)
		return
	}
	// After a refresh, the userinfo step reads the refresh answer as
	// ${token.…} and the user object as the user step's result; nothing of
	// the login's callback is left.
	user := st.UserStep()
	for _, f := range c.fields {
		if f.step != StepUserinfo {
			continue
		}
		for _, b := range f.refs {
			bad := b.Source == FromCallback || b.Source == FromLogin || b.Source == FromLoginParam ||
				(b.Source == FromStep && b.Root != StepToken && b.Root != user)
			if bad {
				r.errorf(st.Name, StepUserinfo, f.name, "%s: with refresh_userinfo this step runs again after a refresh, where only variables, ${%s.…} (the refresh answer) and ${%s.…} are available", b.Ref, StepToken, user)
			}
		}
	}
}
