package strategies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Mask replaces a secret written in a file in explain output.
const Mask = "********"

// Explain writes the merged strategy, with literal secrets masked, and its
// step plan: what runs when, and which placeholders each step reads.
func Explain(w io.Writer, sp *StrategyPlan) error {
	st := sp.def
	res := newResolver(sp)
	fmt.Fprintf(w, "strategy %q (%s)\n", st.Name, st.Label)
	if st.Builtin {
		fmt.Fprintf(w, "  from %s over the built-in %q; keys set by the file: %s\n", st.Source, st.Extends, strings.Join(st.Overridden, ", "))
	} else {
		fmt.Fprintf(w, "  from %s (no built-in default)\n", st.Source)
	}
	if sp.BrowserLogin() {
		fmt.Fprintf(w, "  redirect_uri: %s%s\n", orPlaceholder(maskURI(st.BaseURI), "<server base_uri>"), st.RedirectPath)
	}
	if sp.Discovery() {
		fmt.Fprintf(w, "  discovery: %s/.well-known/openid-configuration, read when the server starts and at every reload (not by validate or explain); ${discovery.NAME} is its member NAME\n",
			strings.TrimRight(orPlaceholder(res.resolve(maskURI(st.Custom[VarIssuer])), "${issuer}"), "/"))
	}
	if ss := st.SignedSecret; ss != nil {
		lifetime := ss.Lifetime
		if lifetime == "" {
			lifetime = DefaultSignedSecretLifetime.String()
		}
		fmt.Fprintf(w, "  client secret: a JWT signed with client_key (iss %s, aud %s, lifetime %s), minted when first needed and again when half its lifetime has passed\n",
			res.resolve(ss.Issuer), res.resolve(ss.Audience), lifetime)
	}
	for _, n := range st.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	def, err := maskedDefinition(sp)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\ndefinition (merged, secrets masked):\n%s\n", def)

	fmt.Fprintf(w, "\nplan:\n")
	reads := func(step string, names ...string) string {
		var out []string
		for _, f := range sp.fields {
			if f.step != step || f.phase == PhaseVariable || (len(names) > 0 && !slices.Contains(names, f.name)) {
				continue
			}
			for _, r := range f.refs {
				if s := r.String(); !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		if len(out) == 0 {
			return "nothing"
		}
		return strings.Join(out, " ")
	}
	if !explainGrant(w, sp, reads, res) {
		return nil
	}
	var adds []string
	adds = append(adds, "state (checked once at the callback)")
	if sp.SendsNonce() {
		adds = append(adds, "nonce (checked in the ID token)")
	}
	if sp.PKCE() {
		adds = append(adds, "PKCE S256 code_challenge")
	}
	if sp.FormPost() {
		adds = append(adds, "response_mode=form_post")
	}
	fmt.Fprintf(w, "         the engine sends %s\n", strings.Join(adds, ", "))
	for _, lp := range sp.LoginParams() {
		fmt.Fprintf(w, "         login parameter %s: passed on when it matches %s; any other parameter is refused\n", lp.Name, lp.Pattern)
	}
	if sp.FormPost() {
		fmt.Fprintf(w, "  callback POST %s (form_post: the IdP's page posts a form; ${auth.*} reads it), then the login steps:\n", st.RedirectPath)
	} else {
		fmt.Fprintf(w, "  callback %s, then the login steps:\n", st.RedirectPath)
	}
	// leftOut notes the discovery members without which a step is left out.
	leftOut := func(indent, owner string, fields ...string) {
		if !sp.Discovery() || !DiscoveryOptional(owner) {
			return
		}
		step := owner
		if owner == "logout" {
			step = ""
		}
		ms := discoveryMembers(sp.fields, func(t *Template) bool {
			return t.step == step && t.phase != PhaseVariable && (len(fields) == 0 || slices.Contains(fields, t.name))
		})
		if len(ms) > 0 {
			fmt.Fprintf(w, "%sleft out when the discovery document names no %s\n", indent, strings.Join(ms, " or "))
		}
	}
	user := st.UserStep()
	for i, s := range st.LoginSteps() {
		fmt.Fprintf(w, "    %d. %-10s %s\n", i+1, s.Name, describeStep(st, s, res))
		fmt.Fprintf(w, "       %-10s reads %s\n", "", reads(s.Name))
		leftOut(fmt.Sprintf("       %-10s ", ""), s.Name)
		switch {
		case s.Name == user:
			fmt.Fprintf(w, "       %-10s result: the user object (session key %q)\n", "", st.JWTKey)
		case s.Name == StepUserinfo:
			fmt.Fprintf(w, "       %-10s result: merged into the user object (sub must match)\n", "")
		}
	}
	if len(st.Claims) > 0 {
		fmt.Fprintf(w, "  claims:\n")
		for _, k := range sortedKeys(st.Claims) {
			fmt.Fprintf(w, "    %-10s <- %s\n", k, st.Claims[k])
		}
	}
	var after []string
	for _, s := range st.Steps {
		if s.Name == StepRefresh || IsRevokeStep(s.Name) || s.Name == StepIntrospect {
			after = append(after, s.Name)
		}
	}
	for _, name := range after {
		if s := st.Step(name); s != nil {
			when := "when the access token has expired"
			switch {
			case IsRevokeStep(name):
				when = "at sign-out"
			case name == StepIntrospect:
				when = "for an opaque bearer token"
			}
			fmt.Fprintf(w, "  %s (%s): %s\n         reads %s\n", name, when, describeStep(st, *s, res), reads(name))
			if name == StepIntrospect {
				explainIntrospect(w, sp) // bearer.go
				continue
			}
			leftOut("         ", name)
		}
	}
	if st.LogoutURI != "" {
		fmt.Fprintf(w, "  logout: redirect to %s after local sign-out\n         reads %s\n", res.resolve(maskURI(st.LogoutURI)), reads("", "logout_uri"))
		leftOut("         ", "logout", "logout_uri")
	}
	explainDevice(w, sp, reads)
	if b := sp.Bearer(); b != nil {
		fmt.Fprintf(w, "  bearer: %s\n", b)
	}
	if st.BackchannelLogout {
		fmt.Fprintf(w, "  back-channel logout: POST /auth/%s/backchannel-logout; logout_token verified with the %q step's keys, iss and aud\n",
			st.Name, StepJWT)
	}
	return nil
}

// describeStep is one line of the plan: the step's request, or what its
// decode verifies, with its templates resolved as far as the file allows.
func describeStep(st *Strategy, s Step, res *resolver) string {
	if s.IsDecode() {
		if s.InsecureSkipVerify {
			return fmt.Sprintf("decode %s WITHOUT verification (debugging only)", maskValue("decode", s.Decode))
		}
		algs := s.Algorithms
		if len(algs) == 0 {
			algs = defaultAlgorithms
		}
		keys := "keys from " + res.resolve(maskURI(s.JWKSURI))
		if s.JWKSURI == "" {
			keys = "keys by discovery at " + res.resolve(maskValue("issuer", s.Issuer))
		}
		aud := s.Audience
		if aud == "" {
			aud = "${client_id}"
		}
		iss := "iss " + res.resolve(maskValue("issuer", s.Issuer))
		if IsTenantIssuer(s.Issuer) {
			tenants := "any tenant"
			if st.AllowedTenants != "" {
				tenants = "tid in allowed_tenants (" + st.AllowedTenants + ")"
			}
			iss = fmt.Sprintf("iss %s with %s the token's tid, %s", res.resolve(maskValue("issuer", s.Issuer)), TenantPlaceholder, tenants)
		}
		return fmt.Sprintf("decode %s; verify %s, %s, %s, aud %s, exp", maskValue("decode", s.Decode), strings.Join(algs, "/"), keys, iss, res.resolve(maskValue("audience", aud)))
	}
	m := strings.ToUpper(s.Method)
	if m == "" {
		m = "GET"
	}
	desc := m + " " + res.resolve(maskURI(s.URI))
	switch {
	case s.Form != nil:
		desc += " (form)"
	case s.JSON != nil:
		desc += " (json)"
	}
	if s.Auth != nil {
		desc += " with HTTP Basic client auth"
	}
	switch s.ClientAuth {
	case "":
	case ClientAuthDiscovery:
		desc += " with client auth from discovery (token_endpoint_auth_methods_supported)"
	default:
		desc += " with client auth " + s.ClientAuth
	}
	return desc
}

func orPlaceholder(v, p string) string {
	if v == "" {
		return p
	}
	return v
}

// maskedDefinition returns the merged definition as indented JSON, with
// literal secrets replaced by Mask (see secret.go: by position, not by name).
func maskedDefinition(sp *StrategyPlan) (string, error) {
	m := newMasker(sp.def, sp.fields)
	o := sp.raw.clone()
	for i, k := range o.keys {
		o.vals[i] = m.strategyKey(k, o.vals[i])
	}
	b, err := o.MarshalJSON()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "  ", "  "); err != nil {
		return "", err
	}
	return "  " + out.String(), nil
}
