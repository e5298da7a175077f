package strategies

import (
	"strings"
	"testing"
)

// TestSyntaxMessages: JSON mistakes are named in plain words, at the line
// and column of the character that shows them.
func TestSyntaxMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"trailing comma in an object", "{\n  \"strategies\": {\n    \"a\": {\n      \"client_id\": \"x\",\n  }\n  }\n}",
			`f.json: line 5, column 3: trailing comma before "}": remove the comma after the last member`},
		{"trailing comma in an array", `{"strategies": {"a": {"steps": [{"name": "jwt"},]}}}`,
			`f.json: line 1, column 49: trailing comma before "]": remove the comma after the last element`},
		{"missing comma between members", "{\"strategies\": {\"a\": {\"client_id\": \"x\"\n \"scope\": \"openid\"}}}",
			`f.json: line 2, column 2: missing comma before this key: separate the members of an object with ","`},
		{"missing comma between elements", `{"strategies": {"a": {"steps": [{"name": "token"} {"name": "jwt"}]}}}`,
			`f.json: line 1, column 51: missing comma before this element: separate the elements of an array with ","`},
		{"single quotes", `{'strategies': {}}`,
			`f.json: line 1, column 2: strings and keys take double quotes ("), not single quotes`},
		{"comment", "{\n  // okta\n  \"strategies\": {}}",
			`f.json: line 2, column 3: JSON has no comments: remove the comment (or put the note in a "label")`},
		{"missing colon", `{"strategies" {}}`,
			`f.json: line 1, column 15: expected ":" after the key, found "{"`},
		{"unquoted value", `{"strategies": {"a": {"client_id": abc}}}`,
			`f.json: line 1, column 36: expected a value, found "a": a string takes double quotes ("abc"); true, false and null are lower case`},
		{"unclosed object", `{"strategies": {"a": {}}`,
			`f.json: line 1, column 25: the file ends before the JSON does: a closing "}" or "]" (or a string's closing quote) is missing`},
		{"line break in a string", "{\"strategies\": {\"a\": {\"label\": \"Acme\n\"}}}",
			`f.json: line 1, column 37: a string is not closed on its line: add the closing double quote (a line break inside a string must be written \n)`},
		{"one brace too many", `{"strategies": {}}}`,
			`f.json: line 1, column 19: "}" after the file's closing "}": a file holds one JSON object (is a "}" one too many?)`},
		{"misspelt literal", `{"strategies": {"a": {"pkce": flase}}}`,
			`f.json: line 1, column 32: not a value: a string takes double quotes ("abc"); true, false and null are spelt in lower case`},
		{"bad escape", `{"strategies": {"a": {"label": "C:\dex"}}}`,
			`f.json: line 1, column 36: "d" after a backslash is not a JSON escape: write a backslash as \\`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Check("f.json", []byte(tt.file))
			if len(ps) != 1 || ps[0].Error() != tt.want {
				var got []string
				for _, p := range ps {
					got = append(got, p.Error())
				}
				t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}
