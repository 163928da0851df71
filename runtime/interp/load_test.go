package interp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

func testRegistry(t *testing.T) *rules.Registry {
	t.Helper()
	reg, err := rules.NewRegistry("test", []*rules.Schema{{
		ID: "test.order/v1", Type: "test.order", Version: 1,
		New: func() rules.Fact { return &testOrder{} },
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// writeTree creates files (path → content) under a temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodYAML = `name: orders
version: 1.2.0
on: [test.order]
facts:
  Order: test.order/v1
max_cycles: 10
`

func TestLoadDir(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"orders/kb.yaml":   goodYAML,
		"orders/b.grl":     `rule B { when Order.Status == "a" then Order.Status = "b"; }`,
		"orders/a.grl":     `rule A salience 1 { when Order.Status == "" then Order.Status = "a"; }`,
		"orders/notes.txt": "ignored",
		"audit/kb.yaml":    "name: audit\nversion: '1'\non: [test.order]\nfacts: {Order: test.order/v1}\n",
		"audit/audit.grl":  `rule Mark { when Event.Source == "pos" then Event.Tag("pos"); }`,
		"empty/README.md":  "not a knowledge base",
		"README.md":        "top-level file",
	})
	kbs, err := LoadDir(dir, testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(kbs) != 2 || kbs[0].Name() != "audit" || kbs[1].Name() != "orders" {
		t.Fatalf("loaded %v", kbs)
	}
	orders := kbs[1]
	if orders.Version() != "1.2.0" || orders.MaxCycles() != 10 || orders.FactName() != "Order" || orders.SchemaID() != "test.order/v1" {
		t.Errorf("orders metadata: %s max %d", orders, orders.MaxCycles())
	}
	if kbs[0].MaxCycles() != rules.DefaultMaxCycles {
		t.Errorf("audit max cycles = %d, want default", kbs[0].MaxCycles())
	}
	var paths []string
	for _, s := range orders.Sources() {
		paths = append(paths, filepath.Base(s.Path))
	}
	if !reflect.DeepEqual(paths, []string{"a.grl", "b.grl"}) {
		t.Errorf("sources = %v, want path order", paths)
	}
	var x rules.Exec
	o := testOrder{}
	if err := orders.Execute(&x, &o); err != nil || o.Status != "b" || !reflect.DeepEqual(x.Fired, []string{"A", "B"}) {
		t.Errorf("execute: err %v, status %q, fired %q", err, o.Status, x.Fired)
	}
}

func TestLoadDirErrors(t *testing.T) {
	grl := `rule A { when Order.Status == "" then Order.Status = "a"; }`
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"unknown key", map[string]string{"k/kb.yaml": goodYAML + "colour: red\n", "k/a.grl": grl},
			[]string{`k/kb.yaml:7:1: unknown key "colour"`}},
		{"unknown schema", map[string]string{"k/kb.yaml": "name: k\nversion: '1'\non: [test.order]\nfacts: {Order: test.order/v9}\n", "k/a.grl": grl},
			[]string{`k/kb.yaml:4:16: fact Order: unknown schema "test.order/v9" (hint: did you mean test.order/v1?)`}},
		{"unknown type", map[string]string{"k/kb.yaml": "name: k\nversion: '1'\non: [test.nope]\nfacts: {Order: test.order/v1}\n", "k/a.grl": grl},
			[]string{`k/kb.yaml:3:6: on: unknown event type "test.nope"`}},
		{"two facts", map[string]string{"k/kb.yaml": "name: k\nversion: '1'\non: [test.order]\nfacts: {Order: test.order/v1, O2: test.order/v1}\n", "k/a.grl": grl},
			[]string{"facts must map exactly one GRL fact name"}},
		{"reserved", map[string]string{"k/kb.yaml": "name: k\nversion: '1'\non: [test.order]\nfacts: {Event: test.order/v1}\n", "k/a.grl": grl},
			[]string{`fact name "Event" is reserved`}},
		{"no version", map[string]string{"k/kb.yaml": "name: k\non: [test.order]\nfacts: {Order: test.order/v1}\n", "k/a.grl": grl},
			[]string{`k/kb.yaml:1:1: missing required key "version"`}},
		{"zero cycles", map[string]string{"k/kb.yaml": goodYAML + "max_cycles: 0\n", "k/a.grl": grl},
			[]string{`duplicate key "max_cycles"`}},
		{"no grl", map[string]string{"k/kb.yaml": goodYAML}, []string{`k/kb.yaml:1:1: knowledge base "orders" has no .grl files in`}},
		{"no yaml", map[string]string{"k/a.grl": grl}, []string{"kb.yaml: no such file"}},
		{"syntax", map[string]string{"k/kb.yaml": goodYAML, "k/a.grl": "rule A { when then }"}, []string{"k/a.grl: grl error on 1:"}},
		{"duplicate name", map[string]string{"k/kb.yaml": goodYAML, "k/a.grl": grl, "l/kb.yaml": goodYAML, "l/a.grl": grl},
			[]string{`l/kb.yaml:1:1: knowledge base "orders" is already defined in `, "k/kb.yaml:1:1"}},
		{"all reported", map[string]string{"k/kb.yaml": goodYAML, "l/kb.yaml": "name: [", "m/a.grl": grl},
			[]string{"has no .grl files in", "l/kb.yaml:1:1: invalid YAML", "m/kb.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDir(writeTree(t, tc.files), testRegistry(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
