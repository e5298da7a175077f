package strategies

import "strings"

// locate gives each problem of a file that has no position yet the line
// and column of what it names, in the file as the user wrote it: the field
// (form.code: the key "code" of the step's "form"), else the step, else
// the strategy's key, else a top-level key. What the file does not write
// (a step or key inherited from a built-in) takes the position of the
// nearest thing around it that the file does write.
func locate(top *node, data []byte, ps Problems) {
	for i := range ps {
		p := &ps[i]
		if p.Line > 0 {
			continue
		}
		n := find(top, p)
		if n == nil {
			continue
		}
		p.Line, p.Col = syntaxPosition(data, n.at)
	}
}

// find returns the node of top a problem names most closely, or nil.
func find(top *node, p *Problem) *node {
	if p.Strategy == "" {
		if p.Field == "" {
			return nil
		}
		return walkField(top, p.Field)
	}
	st := top.get("strategies").get(p.Strategy)
	if st == nil {
		return nil
	}
	cur := st
	if p.Step != "" {
		if step := findStep(st.get("steps"), p.Step); step != nil {
			cur = step
		} else if p.Field != "" {
			// A step the file does not write, or a problem about a strategy
			// key reported under a step: the field may be a strategy key.
			if n := st.get(p.Field); n != nil {
				return n
			}
		}
	}
	if p.Field == "" {
		return cur
	}
	return walkField(cur, p.Field)
}

// findStep returns the element of a steps array whose name is name.
func findStep(steps *node, name string) *node {
	if steps == nil || steps.kind != kindArray {
		return nil
	}
	for _, s := range steps.vals {
		if n, _ := s.get("name").str(); n == name {
			return s
		}
	}
	return nil
}

// walkField follows a dotted field (config.headers.X-Api-Key, form.code)
// down from n, as deep as the file writes it, and returns the last node
// found (n itself when not even the first part is there). A key holding
// dots is tried whole before it is split.
func walkField(n *node, field string) *node {
	parts := strings.Split(field, ".")
	for len(parts) > 0 {
		var next *node
		used := 0
		for k := len(parts); k >= 1; k-- {
			if v := n.get(strings.Join(parts[:k], ".")); v != nil {
				next, used = v, k
				break
			}
		}
		if next == nil {
			return n
		}
		n, parts = next, parts[used:]
	}
	return n
}

// didYouMean returns `; did you mean "form"?` for the candidate closest
// to s (within two edits), or "".
func didYouMean(s string, cands []string) string {
	if c := Suggest(s, cands); c != "" {
		return `; did you mean "` + c + `"?`
	}
	return ""
}

// hasUnknownField reports whether a step has an unknown field already
// (a misspelt "form" is reported there; the checks of what the step sends
// would only repeat it).
func hasUnknownField(r *reporter, strategy, step string) bool {
	for _, p := range r.ps {
		if p.Severity == SevError && p.Strategy == strategy && p.Step == step && strings.HasPrefix(p.Message, "unknown step field") {
			return true
		}
	}
	return false
}
