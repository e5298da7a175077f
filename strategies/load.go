package strategies

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sync"

	"github.com/authflow/authflow"
)

// Set is the strategies of one file, merged with the catalogue and decoded,
// in the order the file gives them.
type Set struct {
	// File is the path the set was loaded from.
	File string
	// Strategies in file order.
	Strategies []*Strategy
	// Warnings found while loading; the set is usable.
	Warnings Problems
}

// Lookup returns the strategy of that name, or nil.
func (s *Set) Lookup(name string) *Strategy {
	for _, st := range s.Strategies {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// Load reads, merges and validates one strategy file. When the file has any
// error, the returned error is a Problems value listing all of them (and the
// warnings), and the set is nil.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Severity: SevError, Message: err.Error()}}
	}
	return Parse(path, data)
}

// Parse is Load on data already read; name is used in messages.
func Parse(name string, data []byte) (*Set, error) {
	set, ps := parse(name, data, catalogue())
	if ps.HasErrors() {
		return nil, ps
	}
	set.Warnings = ps
	return set, nil
}

// Check parses and validates like Parse but always returns every problem,
// errors and warnings, for `authflow validate`.
func Check(name string, data []byte) Problems {
	_, ps := parse(name, data, catalogue())
	return ps
}

var strategyName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// topLevelKeys are the keys a strategy file may hold besides "strategies".
var topLevelKeys = map[string]bool{"$schema": true, "base_uri": true, "jwt_key": true, "strategies": true}

func parse(name string, data []byte, cat map[string]rawObject) (*Set, Problems) {
	r := &reporter{file: name}
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		line, col := syntaxPosition(data, errorOffset(err, 0))
		r.ps = append(r.ps, Problem{File: name, Line: line, Col: col, Severity: SevError, Message: err.Error()})
		return nil, r.ps
	}
	top, _, err := parseObject(data)
	if err != nil {
		r.errorf("", "", "", "%v", err)
		return nil, r.ps
	}
	var fileBase, fileJWTKey string
	for _, k := range top.keys {
		v := top.vals[k]
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
	rawStrategies, ok := top.get("strategies")
	if !ok {
		r.errorf("", "", "strategies", "missing: the file must hold a \"strategies\" object")
		return nil, r.ps
	}
	list, _, err := parseObject(rawStrategies)
	if err != nil {
		r.errorf("", "", "strategies", "%v", err)
		return nil, r.ps
	}
	set := &Set{File: name}
	for _, sname := range list.keys {
		if sname == ReservedName {
			r.errorf(sname, "", "", "the name %q is reserved for steps; name the strategy after its identity provider", ReservedName)
			continue
		}
		if !strategyName.MatchString(sname) {
			r.errorf(sname, "", "", "invalid name: use lower-case letters, digits, '-' and '_' (it appears in URLs)")
			continue
		}
		user, _, err := parseObject(list.vals[sname])
		if err != nil {
			r.errorf(sname, "", "", "%v", err)
			continue
		}
		merged, builtin := user, false
		if def, ok := cat[sname]; ok {
			merged, builtin = mergeStrategy(r, sname, def, user), true
		}
		st := decodeStrategy(r, sname, merged)
		if st == nil {
			continue
		}
		st.Source, st.Builtin = name, builtin
		if builtin {
			st.Overridden = user.keys
		}
		applyDefaults(st, fileBase, fileJWTKey)
		validate(r, st)
		set.Strategies = append(set.Strategies, st)
	}
	if len(list.keys) == 0 {
		r.errorf("", "", "strategies", "no strategies defined")
	}
	return set, r.ps
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

var (
	catOnce   sync.Once
	catParsed map[string]rawObject
)

// catalogue returns the built-in strategies as raw objects, by name.
func catalogue() map[string]rawObject {
	catOnce.Do(func() {
		catParsed = map[string]rawObject{}
		top, _, err := parseObject(authflow.MockStrategies)
		if err != nil {
			panic(fmt.Sprintf("strategies: built-in catalogue: %v", err)) // caught by tests; the file is embedded
		}
		list, _, err := parseObject(top.vals["strategies"])
		if err != nil {
			panic(fmt.Sprintf("strategies: built-in catalogue: %v", err))
		}
		for _, name := range list.keys {
			o, _, err := parseObject(list.vals[name])
			if err != nil {
				panic(fmt.Sprintf("strategies: built-in catalogue: %s: %v", name, err))
			}
			catParsed[name] = o
		}
	})
	return catParsed
}

// Builtin returns the built-in strategies, decoded, in catalogue order, with
// the user-supplied values (client_id, tenant...) left empty.
func Builtin() []*Strategy {
	top, _, _ := parseObject(authflow.MockStrategies)
	list, _, _ := parseObject(top.vals["strategies"])
	cat := catalogue()
	r := &reporter{file: "builtin"}
	var out []*Strategy
	for _, name := range list.keys {
		st := decodeStrategy(r, name, cat[name])
		if st == nil {
			continue
		}
		st.Source, st.Builtin = "builtin", true
		applyDefaults(st, "", "")
		out = append(out, st)
	}
	return out
}
