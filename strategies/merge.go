package strategies

import "encoding/json"

// mergeStrategy overlays a user's strategy on the built-in default of the
// same name: each key the user gives replaces the default's; keys the user
// omits keep the default's. "steps" merge by step name (see mergeSteps).
func mergeStrategy(r *reporter, name string, def, user rawObject) rawObject {
	out := def.clone()
	for _, k := range user.keys {
		v := user.vals[k]
		if k == "steps" {
			if dv, ok := def.get("steps"); ok {
				if merged, ok := mergeSteps(r, name, dv, v); ok {
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
func mergeSteps(r *reporter, strategy string, def, user json.RawMessage) (json.RawMessage, bool) {
	defSteps, ok1 := stepObjects(def)
	userSteps, ok2 := stepObjects(user)
	if !ok1 || !ok2 {
		return nil, false // decodeStrategy reports the shape error
	}
	out := append([]rawObject(nil), defSteps...)
	index := func(name string) int {
		for i, s := range out {
			if stepName(s) == name {
				return i
			}
		}
		return -1
	}
	prev := -1
	for _, us := range userSteps {
		name := stepName(us)
		if i := index(name); i >= 0 && name != "" {
			merged := out[i].clone()
			for _, k := range us.keys {
				merged.set(k, us.vals[k])
			}
			out[i] = merged
			prev = i
			continue
		}
		at := prev + 1
		if prev < 0 {
			at = len(out)
			for i, s := range out {
				if n := stepName(s); n == StepRefresh || n == StepRevoke {
					at = i
					break
				}
			}
		}
		out = append(out[:at], append([]rawObject{us}, out[at:]...)...)
		prev = at
	}
	b, err := marshal(out)
	if err != nil {
		return nil, false
	}
	return b, true
}

// stepObjects parses a "steps" array into ordered objects.
func stepObjects(v json.RawMessage) ([]rawObject, bool) {
	var arr []json.RawMessage
	if err := json.Unmarshal(v, &arr); err != nil {
		return nil, false
	}
	out := make([]rawObject, 0, len(arr))
	for _, e := range arr {
		o, _, err := parseObject(e)
		if err != nil {
			return nil, false
		}
		out = append(out, o)
	}
	return out, true
}

func stepName(o rawObject) string {
	var s string
	if v, ok := o.get("name"); ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}
