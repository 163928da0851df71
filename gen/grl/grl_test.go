package grl_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/grl"
	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/schema"
)

var update = flag.Bool("update", false, "rewrite the error.txt of the grl_* cases")

// load runs the schema and GRL front ends over a mini repository.
func load(root string) ([]*ir.KB, *diag.List) {
	var l diag.List
	schemas := schema.Load(root, &l)
	if l.HasErrors() {
		return nil, &l
	}
	return grl.Load(root, schemas, &l), &l
}

// TestRefusalCases replays gen/testdata/cases/grl_*: one case per message
// the GRL front end can refuse with (the generator's golden runner replays
// them too, with the emitted files of the happy cases).
func TestRefusalCases(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/cases/grl_*")
	if len(dirs) < 50 {
		t.Fatalf("found %d grl_* cases, want one per refusal message", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			wantFile := filepath.Join(dir, "error.txt")
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Skip("no error.txt: a happy case")
			}
			_, l := load(filepath.Join(dir, "input"))
			e := l.Err()
			if e == nil {
				t.Fatalf("no error, want:\n%s", want)
			}
			got := e.Error() + "\n"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestExampleKnowledgeBases compiles rules/ of the repository without
// errors.
func TestExampleKnowledgeBases(t *testing.T) {
	kbs, l := load("../..")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if len(kbs) == 0 {
		t.Fatal("no knowledge bases in rules/")
	}
	for _, kb := range kbs {
		if len(kb.Rules) == 0 || kb.GoName == "" || kb.FileStem == "" || len(kb.Sources) == 0 {
			t.Errorf("%s: incomplete KB %+v", kb.Name, kb)
		}
	}
}

// TestKBHeader checks the fields filled from kb.yaml.
func TestKBHeader(t *testing.T) {
	kbs, l := load("testdata/sem")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	var cycle *ir.KB
	for _, kb := range kbs {
		if kb.Name == "cycle" {
			cycle = kb
		}
	}
	if cycle == nil {
		t.Fatal("no cycle KB")
	}
	if cycle.GoName != "Cycle" || cycle.FileStem != "cycle" || cycle.MaxCycles != 5 || cycle.FactName != "F" ||
		cycle.Schema.ID != "com.test.sem/v1" || cycle.Dir != "rules/cycle" || len(cycle.On) != 1 {
		t.Errorf("header: %+v", cycle)
	}
	names := []string{}
	for i, r := range cycle.Rules {
		if r.Index != i {
			t.Errorf("rule %s has index %d, want %d", r.Name, r.Index, i)
		}
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "First,Loop,Counter,ThenIndex,ThenMod,RetractOther,Retracted" {
		t.Errorf("rules in declaration order: %s", got)
	}
	if r := cycle.Rules[0]; r.Salience != 10 || !strings.HasPrefix(r.Text, "rule First") || !strings.HasSuffix(r.Text, "}") {
		t.Errorf("rule First: salience %d text %q", r.Salience, r.Text)
	}
}

// TestWarnings: equal salience, always-false comparisons and ignored
// negations compile with a warning.
func TestWarnings(t *testing.T) {
	root := t.TempDir()
	copyDir(t, "testdata/sem/schemas", filepath.Join(root, "schemas"))
	writeFile(t, filepath.Join(root, "rules/w/kb.yaml"), "name: w\nversion: '1'\non: [com.test.sem]\nfacts:\n  F: com.test.sem/v1\n")
	writeFile(t, filepath.Join(root, "rules/w/w.grl"), `
rule A { when F.S == 1 then F.N = 1; }
rule B { when !F.I > 0 then F.N = 2; }
`)
	_, l := load(root)
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	var got []string
	for _, d := range l.Sorted() {
		got = append(got, d.String())
	}
	want := []string{
		"rules/w/w.grl:2:19: warning: string == int64 is always false",
		"rules/w/w.grl:3:6: warning: rule B has the same salience (0) as rule A",
		"rules/w/w.grl:3:15: warning: negation of a int64 value is ignored",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("got %q, want prefix %q", got[i], want[i])
		}
	}
}

// FuzzCompile: the GRL front end never panics and positions every
// diagnostic inside the file.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/sem/rules/*/*.grl")
	more, _ := filepath.Glob("../testdata/cases/grl_*/input/rules/*/*.grl")
	examples, _ := filepath.Glob("../../rules/*/*.grl")
	for _, p := range append(append(seeds, more...), examples...) {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src))
	}
	f.Add(`rule X { when F.Items[F.I % F.J].Sku + 1.5 == "a" then F.Out = F.Out + F.X; Retract("X"); }`)
	var l diag.List
	schemas := schema.Load("testdata/sem", &l)
	if l.HasErrors() || len(schemas) != 1 {
		f.Fatal(l.Err())
	}
	f.Fuzz(func(t *testing.T, src string) {
		var l diag.List
		kb := &ir.KB{Name: "fuzz", FactName: "F", Schema: schemas[0]}
		file := diag.NewFile("rules/fuzz/fuzz.grl", []byte(src))
		grl.Compile(kb, []*diag.File{file}, &l)
		for _, d := range l.Sorted() {
			if d.Pos.File != file || d.Pos.Offset < 0 || d.Pos.Offset > len(src) {
				t.Fatalf("diagnostic outside the file: %v (offset %d)", d, d.Pos.Offset)
			}
		}
	})
}

func writeFile(t *testing.T, p, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(to, rel), string(src))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
