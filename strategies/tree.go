package strategies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// node is one JSON value of a strategy file. A file is parsed once, into a
// tree of nodes; merging with the catalogue, decoding into a Strategy and
// explain all work on the tree. Objects keep their key order, so strategies
// keep the order of the file and merged output is stable.
type node struct {
	kind nodeKind
	text string   // a string's value, a number's text
	keys []string // an object's keys, in order
	vals []*node  // an object's values (parallel to keys), an array's elements
	// dup is a key the object names twice (its first value is kept): JSON
	// allows it, but the second would silently win, which hides mistakes.
	// The decoder reports it where the object is read.
	dup string
	// at is where the value is written in the file it was parsed from: the
	// byte offset of its key for an object's member, of the value itself
	// otherwise (nothing for a node built in Go). Problems take their line and
	// column from it (position.go).
	at int64
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

// maxDepth bounds the nesting of a file, as encoding/json does.
const maxDepth = 10000

// errTrailing: something follows the top-level value.
var errTrailing = errors.New("unexpected data after the top-level object")

// parseTree parses data, one JSON value, into a tree.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &treeParser{dec: dec, data: data}
	n, err := p.readNode(p.next(), 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return n, nil
}

// treeParser reads one file's tokens and knows where each starts.
type treeParser struct {
	dec  *json.Decoder
	data []byte
}

// next returns the offset at which the next token starts: the decoder's
// position, past the blanks, commas and colons before the token.
func (p *treeParser) next() int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// readNode reads the value that starts at offset at (a member's value
// gets its key's offset instead).
func (p *treeParser) readNode(at int64, depth int) (*node, error) {
	dec := p.dec
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &node{kind: kindArray, at: at}
		if t == '{' {
			n.kind = kindObject
		}
		for dec.More() {
			key := ""
			elem := p.next()
			if n.kind == kindObject {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ = kt.(string)
			}
			v, err := p.readNode(elem, depth+1)
			if err != nil {
				return nil, err
			}
			if n.kind == kindObject {
				if n.index(key) >= 0 {
					if n.dup == "" {
						n.dup = key
					}
					continue
				}
				n.keys = append(n.keys, key)
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &node{kind: kindString, text: t, at: at}, nil
	case json.Number:
		return &node{kind: kindNumber, text: string(t), at: at}, nil
	case bool:
		if t {
			return &node{kind: kindTrue, at: at}, nil
		}
		return &node{kind: kindFalse, at: at}, nil
	default:
		return &node{kind: kindNull, at: at}, nil
	}
}

// index returns the position of key in an object, or -1.
func (n *node) index(key string) int {
	for i, k := range n.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// get returns an object's member, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	if i := n.index(key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

// set replaces an object's member in place, or appends it.
func (n *node) set(key string, v *node) {
	if i := n.index(key); i >= 0 {
		n.vals[i] = v
		return
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// clone returns a copy of n whose own key and value lists may be changed;
// the values themselves are shared.
func (n *node) clone() *node {
	c := *n
	c.keys = append([]string(nil), n.keys...)
	c.vals = append([]*node(nil), n.vals...)
	return &c
}

// str reports a string node's value.
func (n *node) str() (string, bool) {
	if n == nil || n.kind != kindString {
		return "", false
	}
	return n.text, true
}

func stringNode(s string) *node { return &node{kind: kindString, text: s} }

// kindName names a value's type for messages.
func (n *node) kindName() string {
	switch n.kind {
	case kindString:
		return "a string"
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	case kindTrue, kindFalse:
		return "a boolean"
	case kindNull:
		return "null"
	default:
		return "a number"
	}
}

// value returns n as the Go value encoding/json would decode with
// UseNumber: map[string]any, []any, string, json.Number, bool or nil.
func (n *node) value() any {
	switch n.kind {
	case kindObject:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.vals[i].value()
		}
		return m
	case kindArray:
		a := make([]any, len(n.vals))
		for i, v := range n.vals {
			a[i] = v.value()
		}
		return a
	case kindString:
		return n.text
	case kindNumber:
		return json.Number(n.text)
	case kindTrue:
		return true
	case kindFalse:
		return false
	default:
		return nil
	}
}

// nodeOf builds a tree from a Go value of the shapes value returns (and
// the other numbers and maps of strings a Go-built Strategy may hold).
func nodeOf(v any) *node {
	switch x := v.(type) {
	case nil:
		return &node{kind: kindNull}
	case bool:
		if x {
			return &node{kind: kindTrue}
		}
		return &node{kind: kindFalse}
	case string:
		return stringNode(x)
	case json.Number:
		return &node{kind: kindNumber, text: string(x)}
	case float64:
		return &node{kind: kindNumber, text: strconv.FormatFloat(x, 'g', -1, 64)}
	case int:
		return &node{kind: kindNumber, text: strconv.Itoa(x)}
	case map[string]string:
		o := &node{kind: kindObject}
		for _, k := range sortedKeys(x) {
			o.set(k, stringNode(x[k]))
		}
		return o
	case map[string]any:
		o := &node{kind: kindObject}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o.set(k, nodeOf(x[k]))
		}
		return o
	case []string:
		a := &node{kind: kindArray}
		for _, e := range x {
			a.vals = append(a.vals, stringNode(e))
		}
		return a
	case []any:
		a := &node{kind: kindArray}
		for _, e := range x {
			a.vals = append(a.vals, nodeOf(e))
		}
		return a
	default:
		// A type encoding/json knows but a strategy file cannot hold
		// (a struct, an int64 ...): as encoding/json writes it.
		b, err := json.Marshal(x)
		if err != nil {
			return stringNode(fmt.Sprint(x))
		}
		n, err := parseTree(b)
		if err != nil {
			return stringNode(string(b))
		}
		return n
	}
}

// MarshalJSON writes the tree as compact JSON, objects in key order, without
// HTML escaping, so that URLs in explain output keep their '&'.
func (n *node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	n.write(&b)
	return b.Bytes(), nil
}

func (n *node) write(b *bytes.Buffer) {
	switch n.kind {
	case kindObject:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			n.vals[i].write(b)
		}
		b.WriteByte('}')
	case kindArray:
		b.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	case kindString:
		writeString(b, n.text)
	case kindNumber:
		b.WriteString(n.text)
	case kindTrue:
		b.WriteString("true")
	case kindFalse:
		b.WriteString("false")
	default:
		b.WriteString("null")
	}
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// syntaxError returns the message and 1-based line and column of a JSON
// syntax error in data, as encoding/json reports it, or ok false when data
// is valid JSON.
func syntaxError(data []byte) (msg string, line, col int, ok bool) {
	var probe any
	err := json.Unmarshal(data, &probe)
	if err == nil {
		return "", 0, 0, false
	}
	off := errorOffset(err, 0)
	line, col = syntaxPosition(data, off)
	return plainSyntax(data, off, err), line, col, true
}

// syntaxPosition returns the 1-based line and column of a byte offset.
func syntaxPosition(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// errorOffset extracts the byte offset encoding/json reports, if any.
func errorOffset(err error, fallback int64) int64 {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the bad one included; point at it,
		// except at the end of input, where the problem is what is missing.
		if se.Offset > 0 && se.Error() != "unexpected end of JSON input" {
			return se.Offset - 1
		}
		return se.Offset
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Offset
	}
	return fallback
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
