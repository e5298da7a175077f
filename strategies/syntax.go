package strategies

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// plainSyntax says in plain words what is wrong at offset off of data,
// where encoding/json reported err: the mistakes people make writing JSON
// by hand (a trailing comma, a missing comma, single quotes, a comment,
// an unclosed string or brace) named as such; anything else in
// encoding/json's words.
func plainSyntax(data []byte, off int64, err error) string {
	msg := err.Error()
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return msg
	}
	if msg == "unexpected end of JSON input" {
		return `the file ends before the JSON does: a closing "}" or "]" (or a string's closing quote) is missing`
	}
	at := byte(0)
	if off >= 0 && off < int64(len(data)) {
		at = data[off]
	}
	found := quoteChar(at)
	prev := prevNonBlank(data, off)
	switch {
	case at == '/' && off+1 < int64(len(data)) && (data[off+1] == '/' || data[off+1] == '*'):
		return "JSON has no comments: remove the comment (or put the note in a \"label\")"
	case strings.Contains(msg, "escape"):
		return fmt.Sprintf(`%s after a backslash is not a JSON escape: write a backslash as \\`, found)
	case strings.Contains(msg, "in string"):
		return "a string is not closed on its line: add the closing double quote (a line break inside a string must be written \\n)"
	case strings.HasPrefix(msg, "invalid character '\\'' "):
		return "strings and keys take double quotes (\"), not single quotes"
	case strings.Contains(msg, "looking for beginning of object key string"):
		if prev == ',' && (at == '}' || at == ']') {
			return fmt.Sprintf("trailing comma before %s: remove the comma after the last member", found)
		}
		return fmt.Sprintf("expected a key in double quotes, found %s", found)
	case strings.Contains(msg, "looking for beginning of value"):
		if prev == ',' && (at == '}' || at == ']') {
			return fmt.Sprintf("trailing comma before %s: remove the comma after the last element", found)
		}
		if at >= 'a' && at <= 'z' || at >= 'A' && at <= 'Z' {
			return fmt.Sprintf("expected a value, found %s: a string takes double quotes (\"abc\"); true, false and null are lower case", found)
		}
		return fmt.Sprintf("expected a value (a string in double quotes, a number, true, false, null, an object or an array), found %s", found)
	case strings.Contains(msg, "after object key:value pair"):
		if at == '"' {
			return `missing comma before this key: separate the members of an object with ","`
		}
		return fmt.Sprintf(`expected "," or "}" after a member, found %s`, found)
	case strings.Contains(msg, "after object key"):
		return fmt.Sprintf(`expected ":" after the key, found %s`, found)
	case strings.Contains(msg, "after array element"):
		if at == '"' || at == '{' || at == '[' {
			return `missing comma before this element: separate the elements of an array with ","`
		}
		return fmt.Sprintf(`expected "," or "]" after an element, found %s`, found)
	case strings.Contains(msg, "after top-level value"):
		return fmt.Sprintf(`%s after the file's closing "}": a file holds one JSON object (is a "}" one too many?)`, found)
	case strings.Contains(msg, "in literal"):
		return `not a value: a string takes double quotes ("abc"); true, false and null are spelt in lower case`
	}
	return msg
}

// quoteChar shows a byte of the file in a message: "}" or the name of a
// blank.
func quoteChar(c byte) string {
	switch c {
	case 0:
		return "the end of the file"
	case '\n':
		return "the end of the line"
	case '\t':
		return "a tab"
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("the byte 0x%02x", c)
	}
	return `"` + string(c) + `"`
}

// prevNonBlank returns the last byte before off that is not a blank.
func prevNonBlank(data []byte, off int64) byte {
	for i := min(off, int64(len(data))) - 1; i >= 0; i-- {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return data[i]
	}
	return 0
}
