package interp

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// TestGeneratorRefusals replays the generator's kb.yaml refusal cases
// (gen/testdata/cases/grl_kb_*) through LoadDir, the path of `serve
// --rules-dir`: each knowledge base the generator refuses is refused here
// too, with the same messages at the same positions.
func TestGeneratorRefusals(t *testing.T) {
	cases, err := filepath.Glob("../../gen/testdata/cases/grl_kb_*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no generator cases: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "error.txt"))
			if err != nil {
				t.Skip("not a refusal case")
			}
			input := filepath.Join(dir, "input")
			_, err = LoadDir(filepath.Join(input, "rules"), schemaRegistry(t, filepath.Join(input, "schemas")))
			if err == nil {
				t.Fatalf("loaded; go generate refuses it with:\n%s", want)
			}
			root := filepath.ToSlash(input) + "/"
			got := strings.ReplaceAll(strings.ReplaceAll(err.Error(), "interp: ", ""), root, "")
			if got+"\n" != string(want) {
				t.Errorf("interpreted path says\n%s\ngo generate says\n%s", got, want)
			}
		})
	}
}

var schemaFileRE = regexp.MustCompile(`^v([1-9][0-9]*)\.json$`)

// schemaRegistry knows the schema versions under dir (<type>/v<N>.json) by
// ID and type: what kb.yaml is checked against.
func schemaRegistry(t *testing.T, dir string) *rules.Registry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "v*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schemas []*rules.Schema
	for _, f := range files {
		m := schemaFileRE.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		typ := filepath.Base(filepath.Dir(f))
		schemas = append(schemas, &rules.Schema{ID: typ + "/v" + m[1], Type: typ, Version: n})
	}
	reg, err := rules.NewRegistry("test", schemas, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
