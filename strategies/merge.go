package strategies

// mergeStrategy overlays a user's strategy on the built-in default of the
// same name: each key the user gives replaces the default's; keys the user
// omits keep the default's. "steps" merge by step name (see mergeSteps).
// Neither input is changed.
func mergeStrategy(def, user *node) *node {
	out := def.clone()
	for i, k := range user.keys {
		v := user.vals[i]
		if k == "steps" {
			if dv := def.get("steps"); dv != nil {
				if merged, ok := mergeSteps(dv, v); ok {
					v = merged
				}
			}
		}
		out.set(k, v)
	}
	return out
}

// mergeSteps merges two "steps" arrays by name. A user step whose name
// matches a default step replaces that step field by field, in place. A new
// step goes right after the step that precedes it in the user's list; a new
// step at the head of the user's list goes after the default's last login
// step (before refresh and revoke). Default steps the user does not mention
// stay, in order.
func mergeSteps(def, user *node) (*node, bool) {
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
