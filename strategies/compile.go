package strategies

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authflow/authflow/interp"
)

// compiler compiles and checks one merged strategy. Every template is
// compiled once, in newCompiler; the checks (validate.go) read the compiled
// templates, bind each placeholder with the scope table, and, when the
// strategy has no error, build builds its plan from the same templates.
type compiler struct {
	r    *reporter
	st   *Strategy
	raw  *node
	vars map[string]string // the variables as written

	fields  []*Template          // every template, in check order
	varT    map[string]*Template // each variable's template
	stepsOf map[string]*stepFields

	order   []string          // variables in dependency order
	cycles  map[string]string // variable → "a → b → a", on one member of each cycle
	static  map[string]string // variables whose value the file fixes (no env, no empty value)
	empty   map[string][]string
	used    map[string]bool
	key     keyFields // client_key, client_key_id, signed_client_secret
	tenants *Template // allowed_tenants
}

// stepFields are one step's templates, as newCompiler made them.
type stepFields struct {
	uri, decode, jwksURI, issuer, audience *Template
	headers, form                          []Param
	auth                                   *[2]*Template
	json                                   any
}

func newCompiler(r *reporter, st *Strategy, raw *node) *compiler {
	c := &compiler{r: r, st: st, raw: raw, vars: st.Variables(), varT: map[string]*Template{},
		stepsOf: map[string]*stepFields{}, empty: map[string][]string{}, used: map[string]bool{}}
	for _, k := range sortedKeys(c.vars) {
		t := c.newTemplate("", k, c.vars[k], interp.Plain, PhaseVariable, -1)
		c.varT[k] = t
		if strings.Contains(c.vars[k], "${") {
			c.fields = append(c.fields, t)
		}
	}
	if st.AuthURI != "" {
		c.add("", "auth_uri", st.AuthURI, interp.URI, PhaseAuthorize, -1)
	}
	if st.LogoutURI != "" {
		c.add("", "logout_uri", st.LogoutURI, interp.URI, PhaseLogout, -1)
	}
	c.compileKey()
	c.compileTenants()
	if st.DeviceURI != "" {
		// Fixed when the engine starts, like a jwks_uri: variables,
		// ${env.NAME} and ${discovery.NAME}.
		c.add("", "device_uri", st.DeviceURI, interp.URI, PhaseFixed, -1)
	}
	c.compileBearer() // bearer.go
	login := 0
	for _, s := range st.Steps {
		phase, index := PhaseLogin, login
		switch {
		case s.Name == StepRefresh:
			phase, index = PhaseRefresh, -1
		case IsRevokeStep(s.Name):
			phase, index = PhaseRevoke, -1
		case s.Name == StepIntrospect:
			phase, index = PhaseIntrospect, -1
		default:
			login++
		}
		sf := &stepFields{}
		if c.stepsOf[s.Name] == nil {
			c.stepsOf[s.Name] = sf
		}
		// opt compiles an optional field (nil when absent); val a value,
		// which may be empty (a header or form field sent empty).
		opt := func(name, src string, ctx interp.Context, phase Phase) *Template {
			if src == "" {
				return nil
			}
			return c.add(s.Name, name, src, ctx, phase, index)
		}
		val := func(name, src string, ctx interp.Context) *Template {
			if src == "" {
				return c.newTemplate(s.Name, name, src, ctx, phase, index)
			}
			return c.add(s.Name, name, src, ctx, phase, index)
		}
		sf.uri = opt("uri", s.URI, interp.URI, phase)
		sf.decode = opt("decode", s.Decode, interp.Plain, phase)
		sf.jwksURI = opt("jwks_uri", s.JWKSURI, interp.URI, PhaseFixed)
		sf.issuer = opt("issuer", s.Issuer, interp.Plain, PhaseFixed)
		sf.audience = opt("audience", s.Audience, interp.Plain, PhaseFixed)
		for _, k := range sortedKeys(s.Headers) {
			sf.headers = append(sf.headers, Param{k, val("config.headers."+k, s.Headers[k], interp.Header)})
		}
		if s.Auth != nil {
			// RFC 6749 §2.3.1: both are form-encoded before Basic.
			u := val("config.auth.username", s.Auth.Username, interp.Form)
			p := val("config.auth.password", s.Auth.Password, interp.Form)
			sf.auth = &[2]*Template{u, p}
		}
		if s.Form != nil {
			sf.form = []Param{}
			for _, k := range sortedKeys(s.Form) {
				sf.form = append(sf.form, Param{k, val("form."+k, s.Form[k], interp.Form)})
			}
		}
		if s.JSON != nil {
			sf.json = c.compileJSON(s.JSON, "json", func(path, v string) *Template { return val(path, v, interp.JSON) })
		}
	}
	return c
}

// newTemplate compiles one template; a compile error is kept for the checks
// to report in their order.
func (c *compiler) newTemplate(step, name, src string, ctx interp.Context, phase Phase, index int) *Template {
	t := &Template{step: step, name: name, src: src, ctx: ctx, phase: phase, index: index}
	t.t, t.err = interp.Compile(src, ctx)
	return t
}

func (c *compiler) add(step, name, src string, ctx interp.Context, phase Phase, index int) *Template {
	t := c.newTemplate(step, name, src, ctx, phase, index)
	c.fields = append(c.fields, t)
	return t
}

// compileJSON returns a JSON body with its string leaves compiled, walking
// members in sorted order (the order of the checks).
func (c *compiler) compileJSON(v any, path string, leaf func(path, v string) *Template) any {
	switch x := v.(type) {
	case string:
		return leaf(path, x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			out[k] = c.compileJSON(x[k], path+"."+k, leaf)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.compileJSON(e, fmt.Sprintf("%s.%d", path, i), leaf)
		}
		return out
	default:
		return v
	}
}

// resolveVariables orders the variables so that each reads only variables
// before it, finds cycles (a=${b}, b=${a}), and works out which values the
// file alone fixes.
func (c *compiler) resolveVariables() {
	c.cycles, c.static = map[string]string{}, map[string]string{}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var stack []string
	inCycle := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case done:
			return
		case visiting:
			i := slices.Index(stack, name)
			cycle := append(slices.Clone(stack[i:]), name)
			if !slices.ContainsFunc(cycle, func(n string) bool { return inCycle[n] }) {
				c.cycles[name] = strings.Join(cycle, " → ")
			}
			for _, n := range cycle {
				inCycle[n] = true
			}
			return
		}
		state[name] = visiting
		stack = append(stack, name)
		if t := c.varT[name]; t.t != nil {
			for _, r := range t.t.Refs() {
				if _, isVar := c.vars[r.Root]; isVar && r.Path == "" {
					visit(r.Root)
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		c.order = append(c.order, name)
	}
	for _, n := range sortedKeys(c.vars) {
		visit(n)
	}
	for _, n := range c.order {
		t := c.varT[n]
		if inCycle[n] || t.t == nil {
			continue
		}
		var b strings.Builder
		fixed := true
		for i, r := range t.t.Refs() {
			b.WriteString(t.t.Literal(i))
			v, ok := c.static[r.Root]
			if !ok || r.Path != "" {
				fixed = false
				break
			}
			b.WriteString(v)
		}
		if fixed {
			b.WriteString(t.t.Literal(len(t.t.Refs())))
			if v := b.String(); v != "" {
				c.static[n] = v
			}
		}
	}
}

// staticPrefix is CheckAbsolute's prefix at compile time: a variable the
// file fixes is known whole; anything else is not known.
func (c *compiler) staticPrefix(b Binding) (string, bool) {
	if b.Source == FromVariable {
		v, ok := c.static[b.Root]
		return v, ok
	}
	return "", false
}

// build makes the strategy's plan from its compiled templates. It is
// called only when the strategy has no error.
func (c *compiler) build() *StrategyPlan {
	st := c.st
	sp := &StrategyPlan{def: st.clone(), raw: c.raw, fields: c.fields, authPlaces: map[string]bool{},
		sendsNonce: c.sendsNonce(), key: c.key, tenants: c.tenants}
	for _, n := range c.order {
		sp.vars = append(sp.vars, Variable{Name: n, Value: c.varT[n]})
	}
	for _, f := range c.fields {
		switch {
		case f.step == "" && f.name == "auth_uri":
			sp.authURI = f
		case f.step == "" && f.name == "logout_uri":
			sp.logoutURI = f
		}
	}
	if sp.authURI != nil {
		for _, p := range placedParams(sp.authURI.t) {
			sp.authPlaces[p] = true
		}
	}
	user := st.UserStep()
	for _, s := range st.Steps {
		sf := c.stepsOf[s.Name]
		p := &StepPlan{name: s.Name, method: strings.ToUpper(s.Method), errorPath: s.ErrorPath, clientAuth: s.ClientAuth,
			uri: sf.uri, headers: sf.headers, auth: sf.auth, form: sf.form, json: sf.json,
			decode: sf.decode, skipVerify: s.InsecureSkipVerify, issuer: sf.issuer, jwksURI: sf.jwksURI,
			audience: sf.audience, algorithms: slices.Clone(s.Algorithms)}
		if p.method == "" {
			p.method = "GET"
		}
		if len(p.algorithms) == 0 {
			p.algorithms = DefaultAlgorithms()
		}
		switch {
		case s.Name == StepRefresh:
			sp.refresh = p
		case IsRevokeStep(s.Name):
			sp.revoke = append(sp.revoke, p)
		case s.Name == StepIntrospect:
			sp.introspect = p
		default:
			p.isUser = s.Name == user
			sp.login = append(sp.login, p)
		}
	}
	for _, k := range sortedKeys(st.LoginParams) {
		re, _ := compileLoginParam(st.LoginParams[k]) // checked by validate
		sp.loginParams = append(sp.loginParams, LoginParam{Name: k, Pattern: re})
	}
	for _, name := range sortedKeys(st.Claims) {
		cl := Claim{Name: name, Path: st.Claims[name]}
		if root, rest, ok := strings.Cut(cl.Path, "."); ok {
			for _, s := range sp.login {
				if s.name == root {
					cl.Step, cl.Path = root, rest
				}
			}
		}
		sp.claims = append(sp.claims, cl)
	}
	c.buildBearer(sp) // bearer.go
	return sp
}

// placedParams returns the names of the query parameters a URI template
// places itself: the roots of its placeholders, and the literal names of
// its query's parameters.
func placedParams(t *interp.Template) []string {
	var out []string
	for _, r := range t.Refs() {
		out = append(out, r.Root)
	}
	// The query as text, with each placeholder as a NUL: a parameter whose
	// name holds one is not a literal name.
	var q strings.Builder
	inQuery := false
	for i := 0; i <= len(t.Refs()); i++ {
		lit := t.Literal(i)
		if !inQuery {
			j := strings.IndexByte(lit, '?')
			if j < 0 {
				continue
			}
			inQuery, lit = true, lit[j+1:]
		}
		q.WriteString(lit)
		if i < len(t.Refs()) {
			q.WriteByte(0)
		}
	}
	for _, part := range strings.Split(q.String(), "&") {
		k, _, _ := strings.Cut(part, "=")
		if k != "" && !strings.Contains(k, "\x00") {
			out = append(out, k)
		}
	}
	return out
}

// sendsNonce reports whether logins send a nonce.
func (c *compiler) sendsNonce() bool {
	return !c.st.InsecureNoNonce && slices.Contains(strings.Fields(c.st.Scope), "openid")
}
