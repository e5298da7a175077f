package strategies

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata file path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./strategies -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./strategies -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestValidateGolden checks the problems reported for each testdata file.
func TestValidateGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := "testdata/" + filepath.Base(f)
			var b bytes.Buffer
			for _, p := range Check(name, data) {
				b.WriteString(p.Error() + "\n")
			}
			golden(t, strings.TrimSuffix(f, ".json")+".validate.golden", b.Bytes())
		})
	}
}

// TestExplainGolden checks explain output for every strategy of every valid
// testdata file.
func TestExplainGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../testdata/*.json")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		set, err := Parse("testdata/"+filepath.Base(f), data)
		if err != nil {
			continue // invalid files are covered by TestValidateGolden
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			var b bytes.Buffer
			for _, st := range set.Strategies() {
				if err := Explain(&b, st); err != nil {
					t.Fatal(err)
				}
				b.WriteString("\n")
			}
			golden(t, strings.TrimSuffix(f, ".json")+".explain.golden", b.Bytes())
		})
	}
}

// TestExplainMasksSecrets: a secret written in the file never reaches explain.
func TestExplainMasksSecrets(t *testing.T) {
	t.Parallel()
	set, err := Parse("f.json", []byte(`{"base_uri": "https://app.test", "strategies": {"a": {
	  "auth_uri": "https://idp.test/authorize", "client_id": "cid", "client_secret": "hunter2-secret",
	  "api_password": "pw-literal", "scope": "openid",
	  "steps": [
	    {"name": "token", "uri": "https://idp.test/token", "method": "POST", "form": {"code": "${auth.code}", "client_secret": "form-literal"},
	     "config": {"auth": {"username": "${client_id}", "password": "basic-literal"}, "headers": {"Authorization": "Bearer static-literal", "X": "${api_password}"}}},
	    {"name": "jwt", "decode": "${token.id_token}", "issuer": "https://idp.test"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Explain(&b, set.Strategies()[0]); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "pw-literal", "form-literal", "basic-literal", "static-literal"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("explain shows %q:\n%s", secret, b.String())
		}
	}
	if !strings.Contains(b.String(), `"username": "${client_id}"`) {
		t.Errorf("references should stay visible:\n%s", b.String())
	}
}
