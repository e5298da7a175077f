package strategies

import "strings"

// The strategy keys the resolver treats specially.
const (
	varClientSecret = "client_secret"
	varBaseURI      = "base_uri"
)

// Templates resolved as far as the file allows, for explain: a placeholder
// whose value the file itself fixes — a strategy key or custom variable
// written as a literal, or built only from such — is replaced by that
// value; ${redirect_uri} too, when base_uri is fixed. Everything else stays
// a placeholder: ${env.NAME} (read when the server starts),
// ${discovery.NAME} (read from the issuer), and what each login or request
// brings (${state}, ${auth.code}, ${token.id_token}, ${refresh_token}).
// Secrets stay out: ${client_secret}, and any variable that reads it or
// whose literal explain masks, is never filled in (a literal secret shows
// as Mask).

// resolver fills in the values a strategy file fixes.
type resolver struct {
	vals map[string]string // variable name → value as explain shows it
}

// newResolver computes the values of sp's variables that the file fixes,
// in their dependency order.
func newResolver(sp *StrategyPlan) *resolver {
	m := newMasker(sp.def, sp.fields)
	raw := map[string]string{}
	tainted := map[string]bool{varClientSecret: true}
	r := &resolver{vals: map[string]string{}}
	for _, v := range sp.vars {
		if v.Value == nil || v.Value.t == nil {
			continue
		}
		fixed, secret := true, false
		for _, b := range v.Value.refs {
			switch {
			case b.Source != FromVariable:
				fixed = false
			case tainted[b.Root]:
				secret = true
			case !hasKey(raw, b.Root):
				fixed = false
			}
		}
		if secret || v.Name == varClientSecret {
			tainted[v.Name] = true
			if fixed && v.Name == varClientSecret && len(v.Value.refs) == 0 && v.Value.src != "" {
				r.vals[v.Name] = Mask // a literal secret: shown masked
			}
			continue
		}
		if !fixed {
			continue
		}
		val, err := v.Value.Execute(func(b Binding) (string, bool) {
			x, ok := raw[b.Root]
			return x, ok
		})
		if err != nil {
			continue
		}
		raw[v.Name] = val
		shown := val
		if _, custom := sp.def.Custom[v.Name]; custom {
			shown = m.variable(v.Name, val)
			if isSecretName(v.Name) {
				shown = Mask // api_key: even where the browser would see it
			}
		}
		if shown != val {
			tainted[v.Name] = true
			r.vals[v.Name] = Mask
			continue
		}
		if v.Name == varBaseURI && val == "" {
			continue // the server's base_uri setting
		}
		r.vals[v.Name] = val
	}
	if base, ok := r.vals[varBaseURI]; ok && base != Mask {
		r.vals[VarRedirectURI] = strings.TrimRight(base, "/") + sp.def.RedirectPath
	}
	return r
}

// resolve returns src with the placeholders the file fixes replaced by
// their values. src should be masked first (maskURI, maskValue): the
// values filled in are masked already.
func (r *resolver) resolve(src string) string {
	if !strings.Contains(src, "${") {
		return src
	}
	var b strings.Builder
	for _, s := range segments(src) {
		if !s.ref {
			b.WriteString(s.text)
			continue
		}
		name := strings.TrimSpace(s.text[2 : len(s.text)-1])
		if v, ok := r.vals[name]; ok {
			b.WriteString(v)
			continue
		}
		b.WriteString(s.text)
	}
	return b.String()
}

// ResolveURI returns a URI template of sp (as Template.String gives it)
// as explain shows it: literal secrets masked, then resolved as far as the
// strategy file allows (the placeholders of values the file fixes filled
// in; ${env.*}, ${discovery.*} and per-login values kept).
func (sp *StrategyPlan) ResolveURI(src string) string {
	return newResolver(sp).resolve(maskURI(src))
}
