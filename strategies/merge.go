package strategies

import (
	"slices"
	"strings"
)

// KeyExtends is the strategy key naming the built-in a strategy starts
// from; StepOmit the step field that drops an inherited step.
const (
	KeyExtends = "extends"
	StepOmit   = "omit"
)

// baseOf returns the built-in a strategy starts from, by name: the one its
// "extends" names, else the one of its own name, else none (""). An
// "extends" that names no built-in is reported, listing the built-ins.
func baseOf(r *reporter, name string, user *node, cat map[string]*node) (string, bool) {
	v := user.get(KeyExtends)
	if v == nil {
		if _, ok := cat[name]; ok {
			return name, true
		}
		return "", true
	}
	base, ok := v.str()
	if !ok {
		r.errorf(name, "", KeyExtends, "must be a string, the name of a built-in, not %s", v.kindName())
		return "", false
	}
	if _, ok := cat[base]; ok {
		return base, true
	}
	names := builtinNames(cat)
	msg := ""
	if s := Suggest(base, names); s != "" {
		msg = ` (did you mean "` + s + `"?)`
	}
	if len(names) == 0 {
		r.errorf(name, "", KeyExtends, "%q is not a built-in%s; there are no built-ins here", base, msg)
	} else {
		r.errorf(name, "", KeyExtends, "%q is not a built-in%s; the built-ins are %s", base, msg, strings.Join(names, ", "))
	}
	return "", false
}

// builtinNames returns the names of cat: in catalogue order when they are
// the catalogue's, sorted otherwise.
func builtinNames(cat map[string]*node) []string {
	_, order := catalogueTree()
	var out []string
	for _, n := range order {
		if cat[n] != nil {
			out = append(out, n)
		}
	}
	for _, n := range sortedKeys(cat) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// mergeStrategy overlays a user's strategy on the built-in default it
// extends (base names it, for messages): each key the user gives replaces
// the default's; keys the user omits keep the default's. "steps" merge by
// step name (see mergeSteps). Neither input is changed.
func mergeStrategy(r *reporter, name, base string, def, user *node) *node {
	out := def.clone()
	for i, k := range user.keys {
		v := user.vals[i]
		if k == "steps" {
			if dv := def.get("steps"); dv != nil {
				if merged, ok := mergeSteps(r, name, base, dv, v); ok {
					v = merged
				}
			}
		}
		out.set(k, v)
	}
	return out
}

// mergeSteps merges two "steps" arrays by name. A user step whose name
// matches a default step replaces that step field by field, in place; one
// that is {"name": ..., "omit": true} drops it. A new step goes right
// after the step that precedes it in the user's list (an omitted one does
// not count); a new step at the
// head of the user's list goes after the default's last login step (before
// refresh and revoke). Default steps the user does not mention stay, in
// order.
func mergeSteps(r *reporter, strategy, base string, def, user *node) (*node, bool) {
	if !isStepList(def) || !isStepList(user) {
		return nil, false // decodeStrategy reports the shape error
	}
	out := append([]*node(nil), def.vals...)
	index := func(name string) int {
		for i, s := range out {
			if stepName(s) == name {
				return i
			}
		}
		return -1
	}
	prev := -1
	for _, us := range user.vals {
		name := stepName(us)
		if ov := us.get(StepOmit); ov != nil {
			i := index(name)
			if checkOmit(r, strategy, base, us, ov, def, i >= 0 && name != "") {
				out = slices.Delete(out, i, i+1)
				if prev > i {
					prev-- // an omitted step is no anchor for the next one
				}
			}
			continue // reported, or dropped: either way not a step
		}
		if i := index(name); i >= 0 && name != "" {
			merged := out[i].clone()
			for j, k := range us.keys {
				merged.set(k, us.vals[j])
			}
			if us.dup != "" {
				merged.dup = us.dup
			}
			out[i] = merged
			prev = i
			continue
		}
		at := prev + 1
		if prev < 0 {
			at = len(out)
			for i, s := range out {
				if !isLoginStep(stepName(s)) {
					at = i
					break
				}
			}
		}
		out = append(out[:at], append([]*node{us}, out[at:]...)...)
		prev = at
	}
	return &node{kind: kindArray, vals: out}, true
}

// checkOmit reports what is wrong with a user step carrying "omit" (ov),
// and reports whether it drops the inherited step: it must be exactly
// {"name": NAME, "omit": true}, NAME a step the built-in has (found).
func checkOmit(r *reporter, strategy, base string, us, ov, def *node, found bool) bool {
	name := stepName(us)
	label := name
	if label == "" {
		label = "#?"
	}
	if ov.kind != kindTrue {
		r.errorf(strategy, label, StepOmit, "must be true (to keep the inherited step, remove the step)")
		return false
	}
	var others []string
	for _, k := range us.keys {
		if k != "name" && k != StepOmit {
			others = append(others, k)
		}
	}
	if len(others) > 0 {
		r.errorf(strategy, label, StepOmit, "omit drops an inherited step and takes no other field (remove %s)", strings.Join(others, ", "))
		return false
	}
	if !found {
		var have []string
		for _, s := range def.vals {
			have = append(have, stepName(s))
		}
		r.errorf(strategy, label, StepOmit, "the built-in %q has no step %q (it has %s)", base, name, strings.Join(have, ", "))
		return false
	}
	return true
}

// isStepList reports whether v is an array of objects.
func isStepList(v *node) bool {
	if v.kind != kindArray {
		return false
	}
	for _, e := range v.vals {
		if e.kind != kindObject {
			return false
		}
	}
	return true
}

func stepName(o *node) string {
	s, _ := o.get("name").str()
	return s
}
