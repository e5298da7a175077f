package strategies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// rawObject is a JSON object that remembers its key order, so that
// strategies keep the order of the file and merged output is stable.
type rawObject struct {
	keys []string
	vals map[string]json.RawMessage
}

func (o *rawObject) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *rawObject) set(k string, v json.RawMessage) {
	if o.vals == nil {
		o.vals = map[string]json.RawMessage{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *rawObject) clone() rawObject {
	c := rawObject{keys: append([]string(nil), o.keys...), vals: make(map[string]json.RawMessage, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = v
	}
	return c
}

// MarshalJSON writes the object with its keys in order.
func (o rawObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// errDuplicateKey is returned for an object that names a key twice: JSON
// allows it, but the second silently wins, which hides mistakes.
type errDuplicateKey struct{ key string }

func (e errDuplicateKey) Error() string { return fmt.Sprintf("key %q appears twice", e.key) }

// parseObject decodes data, which must be one JSON object, keeping key order.
// On error it returns the byte offset where it failed.
func parseObject(data []byte) (rawObject, int64, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return rawObject{}, dec.InputOffset(), err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return rawObject{}, 0, errors.New("must be a JSON object")
	}
	var o rawObject
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return rawObject{}, dec.InputOffset(), err
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return rawObject{}, dec.InputOffset(), err
		}
		if _, dup := o.vals[key]; dup {
			return rawObject{}, off, errDuplicateKey{key}
		}
		o.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return rawObject{}, dec.InputOffset(), err
	}
	if _, err := dec.Token(); err != io.EOF {
		return rawObject{}, dec.InputOffset(), errors.New("unexpected data after the top-level object")
	}
	return o, 0, nil
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

// kind names a JSON value's type for messages.
func kind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// marshal encodes v as compact JSON without HTML escaping, so that URLs in
// explain output keep their '&'.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
