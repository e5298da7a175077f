package strategies

import (
	"strings"

	"github.com/authflow/authflow/interp"
)

// TenantPlaceholder in a decode step's issuer makes it a multi-tenant
// issuer template, as Microsoft Entra ID's discovery document for the
// common and organizations endpoints names it
// ("https://login.microsoftonline.com/{tenantid}/v2.0"): a token's iss
// must equal the template with {tenantid} replaced by the token's tid
// claim, exactly.
const TenantPlaceholder = "{tenantid}"

// KeyAllowedTenants is the strategy key listing the tenants a
// multi-tenant issuer accepts (tid values, separated by commas or white
// space); absent, every tenant.
const KeyAllowedTenants = "allowed_tenants"

// IsTenantIssuer reports whether an issuer is a multi-tenant template.
func IsTenantIssuer(issuer string) bool { return strings.Contains(issuer, TenantPlaceholder) }

// compileTenants compiles allowed_tenants.
func (c *compiler) compileTenants() {
	if c.st.AllowedTenants != "" {
		c.tenants = c.add("", KeyAllowedTenants, c.st.AllowedTenants, interp.Plain, PhaseFixed, -1)
	}
}

// validateTenants checks multi-tenant issuers and allowed_tenants.
func (c *compiler) validateTenants() {
	r, st := c.r, c.st
	found := false
	for _, s := range st.Steps {
		if !s.IsDecode() || !IsTenantIssuer(s.Issuer) {
			continue
		}
		found = true
		switch {
		case strings.Count(s.Issuer, TenantPlaceholder) != 1:
			r.errorf(st.Name, s.Name, "issuer", "%s may appear once in a multi-tenant issuer", TenantPlaceholder)
		case s.JWKSURI == "":
			r.errorf(st.Name, s.Name, "jwks_uri", "missing: a multi-tenant issuer (%s) names no one issuer to discover the keys from; give the keys' URL", TenantPlaceholder)
		case s.InsecureSkipVerify:
			r.errorf(st.Name, s.Name, "issuer", "a multi-tenant issuer is checked against the token's tid, and verify is false")
		}
	}
	if st.AllowedTenants != "" && !found {
		r.errorf(st.Name, "", KeyAllowedTenants, "only a decode step with a multi-tenant issuer (%s) checks the tenant; this strategy has none", TenantPlaceholder)
	}
	if st.AllowedTenants != "" && !strings.Contains(st.AllowedTenants, "${") && len(SplitTenants(st.AllowedTenants)) == 0 {
		r.errorf(st.Name, "", KeyAllowedTenants, "empty: list tenant IDs separated by commas, or remove the key to accept every tenant")
	}
}

// SplitTenants splits an allowed_tenants value into tenant IDs.
func SplitTenants(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// AllowedTenants returns the allowed_tenants template, or nil: every
// tenant.
func (sp *StrategyPlan) AllowedTenants() *Template { return sp.tenants }
