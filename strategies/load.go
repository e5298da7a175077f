package strategies

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sync"

	"github.com/authflow/authflow"
)

// Load reads and compiles one strategy file. When the file has any error,
// the returned error is a Problems value listing all of them (and the
// warnings), and the plan is nil. Load reads no environment: ${env.NAME}
// values are bound by the engine (engine.New).
func Load(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Severity: SevError, Message: err.Error()}}
	}
	return Parse(path, data)
}

// Parse is Load on data already read; name is used in messages.
func Parse(name string, data []byte) (*Plan, error) {
	plan, ps := compileFile(name, data, catalogue())
	if ps.HasErrors() {
		return nil, ps
	}
	return plan, nil
}

// Check compiles data exactly as Parse does and returns every problem,
// errors and warnings, for `authflow validate`.
func Check(name string, data []byte) Problems {
	_, ps := compileFile(name, data, catalogue())
	return ps
}

// Compile checks and compiles strategies defined in Go, as Parse does a
// file's: each goes through the decoding and every check of a strategy
// file, with the defaults of one (label, redirect_path, grant_type,
// jwt_key). They are not merged with the catalogue. source names them in
// messages. The definitions are copied: changing them afterwards changes
// nothing in the plan.
func Compile(source string, defs ...Strategy) (*Plan, error) {
	r := &reporter{file: source}
	list := &node{kind: kindObject}
	for _, d := range defs {
		if list.get(d.Name) != nil {
			r.errorf(d.Name, "", "", "two strategies have this name")
			continue
		}
		list.set(d.Name, encodeStrategy(&d))
	}
	plan := compileStrategies(r, list, nil, "", "")
	if r.ps.HasErrors() {
		return nil, r.ps
	}
	return plan, nil
}

var strategyName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// topLevelKeys are the keys a strategy file may hold besides "strategies".
var topLevelKeys = map[string]bool{"$schema": true, "base_uri": true, "jwt_key": true, "strategies": true}

// compileFile parses a strategy file once and compiles it. The plan is nil
// when the file has an error.
func compileFile(name string, data []byte, cat map[string]*node) (*Plan, Problems) {
	r := &reporter{file: name}
	top, err := parseTree(data)
	if err != nil {
		if msg, line, col, ok := syntaxError(data); ok {
			r.ps = append(r.ps, Problem{File: name, Line: line, Col: col, Severity: SevError, Message: msg})
		} else {
			r.errorf("", "", "", "%v", err)
		}
		return nil, r.ps
	}
	switch {
	case top.kind != kindObject:
		r.errorf("", "", "", "must be a JSON object")
		return nil, r.ps
	case top.dup != "":
		r.errorf("", "", "", "key %q appears twice", top.dup)
		return nil, r.ps
	}
	var fileBase, fileJWTKey string
	for i, k := range top.keys {
		v := top.vals[i]
		if !topLevelKeys[k] {
			r.errorf("", "", k, "unknown top-level key (strategies go under \"strategies\")")
			continue
		}
		switch k {
		case "base_uri":
			decodeString(r, "", "", k, v, &fileBase)
		case "jwt_key":
			decodeString(r, "", "", k, v, &fileJWTKey)
		}
	}
	list := top.get("strategies")
	switch {
	case list == nil:
		r.errorf("", "", "strategies", "missing: the file must hold a \"strategies\" object")
		return nil, r.ps
	case list.kind != kindObject:
		r.errorf("", "", "strategies", "must be a JSON object")
		return nil, r.ps
	case list.dup != "":
		r.errorf("", "", "strategies", "key %q appears twice", list.dup)
		return nil, r.ps
	}
	plan := compileStrategies(r, list, cat, fileBase, fileJWTKey)
	if len(list.keys) == 0 {
		r.errorf("", "", "strategies", "no strategies defined")
	}
	locate(top, data, r.ps)
	plan.warnings = r.warnings()
	if r.ps.HasErrors() {
		return nil, r.ps
	}
	return plan, r.ps
}

// compileStrategies compiles each strategy of list, merged over the
// built-in it extends (its "extends", else the one of its name), and checks the redirect paths across
// them.
func compileStrategies(r *reporter, list *node, cat map[string]*node, fileBase, fileJWTKey string) *Plan {
	plan := &Plan{file: r.file}
	paths := map[string]string{} // redirect_path → strategy
	for i, sname := range list.keys {
		if sname == ReservedName {
			r.errorf(sname, "", "", "the name %q is reserved for steps; name the strategy after its identity provider", ReservedName)
			continue
		}
		if !strategyName.MatchString(sname) {
			r.errorf(sname, "", "", "invalid name: use lower-case letters, digits, '-' and '_' (it appears in URLs)")
			continue
		}
		user := list.vals[i]
		switch {
		case user.kind != kindObject:
			r.errorf(sname, "", "", "must be a JSON object")
			continue
		case user.dup != "":
			r.errorf(sname, "", "", "key %q appears twice", user.dup)
			continue
		}
		before := len(r.errors())
		base, ok := baseOf(r, sname, user, cat)
		if !ok {
			continue // which built-in it means is unknown: checking more would mislead
		}
		merged := user
		if base != "" {
			merged = mergeStrategy(r, sname, base, cat[base], user)
		}
		st := decodeStrategy(r, sname, merged)
		st.Source, st.Builtin, st.Extends = r.file, base != "", base
		if base != "" {
			st.Overridden = slices.DeleteFunc(slices.Clone(user.keys), func(k string) bool { return k == KeyExtends })
			merged = trimInherited(st, user, merged) // grants.go
		}
		applyDefaults(st, fileBase, fileJWTKey)
		c := newCompiler(r, st, merged)
		c.validate()
		if other, taken := paths[st.RedirectPath]; taken {
			r.errorf(sname, "", "redirect_path", "%q is the redirect_path of strategy %q too: each strategy needs a callback of its own", st.RedirectPath, other)
		} else {
			paths[st.RedirectPath] = sname
		}
		if len(r.errors()) == before {
			plan.strategies = append(plan.strategies, c.build())
		}
	}
	checkIntrospectors(r, plan) // bearer.go
	plan.warnings = r.warnings()
	return plan
}

// applyDefaults fills the keys a strategy left empty.
func applyDefaults(st *Strategy, fileBase, fileJWTKey string) {
	if st.Label == "" {
		st.Label = st.Name
	}
	if st.BaseURI == "" {
		st.BaseURI = fileBase
	}
	if st.RedirectPath == "" {
		st.RedirectPath = "/auth/" + st.Name + "/callback"
	}
	if st.GrantType == "" {
		st.GrantType = "authorization_code"
	}
	if st.JWTKey == "" {
		st.JWTKey = fileJWTKey
	}
	if st.JWTKey == "" {
		st.JWTKey = DefaultJWTKey
	}
}

// catalogue returns the built-in strategies, parsed once, by name, and
// their names in catalogue order.
var catalogueTree = sync.OnceValues(func() (map[string]*node, []string) {
	top, err := parseTree(authflow.Catalogue())
	if err != nil {
		panic(fmt.Sprintf("strategies: built-in catalogue: %v", err)) // caught by tests; the file is embedded
	}
	list := top.get("strategies")
	if list == nil || list.kind != kindObject {
		panic("strategies: built-in catalogue: no strategies object")
	}
	byName := map[string]*node{}
	for i, name := range list.keys {
		if list.vals[i].kind != kindObject || list.vals[i].dup != "" {
			panic(fmt.Sprintf("strategies: built-in catalogue: %s: not an object with unique keys", name))
		}
		byName[name] = list.vals[i]
	}
	return byName, list.keys
})

func catalogue() map[string]*node {
	m, _ := catalogueTree()
	return m
}

// Catalogue returns the built-in strategies (mock_strategies.json),
// decoded, in catalogue order, with the values a user supplies (client_id,
// tenant...) left empty. Each call returns fresh copies.
func Catalogue() []*Strategy {
	cat, names := catalogueTree()
	r := &reporter{file: "builtin"}
	out := make([]*Strategy, 0, len(names))
	for _, name := range names {
		st := decodeStrategy(r, name, cat[name])
		st.Source, st.Builtin = "builtin", true
		applyDefaults(st, "", "")
		out = append(out, st)
	}
	return out
}
