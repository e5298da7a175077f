package strategies

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no input makes the loader panic, and that a file it
// accepts yields strategies with the defaults applied.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"strategies": {"a": {"auth_uri": "https://x.test/${state}", "client_id": "c", "steps": [{"name": "jwt", "uri": "https://x.test/u"}]}}}`))
	f.Add([]byte(`{"strategies": {"google": {"client_id": "c", "client_secret": "s", "steps": [{"name": "x"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse("fuzz.json", data)
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error %T is not Problems", err)
			}
			return
		}
		for _, sp := range set.Strategies() {
			st := sp.Definition()
			if st.Name == ReservedName || st.RedirectPath == "" || st.JWTKey == "" || st.Label == "" {
				t.Fatalf("accepted strategy without defaults: %+v", st)
			}
		}
	})
}
