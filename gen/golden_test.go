package gen_test

import (
	"bytes"
	"context"
	"flag"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen"
)

var update = flag.Bool("update", false, "rewrite the expectations of gen/testdata/cases")

// TestGolden replays gen/testdata/cases/<name>/: each case is a mini
// repository in input/ (schemas/, optionally rules/) and either expected/
// (every generated file, byte for byte, plus warnings.txt when the run
// warns) or error.txt (the exact diagnostics). -update rewrites them.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { runCase(t, dir) })
	}
}

func runCase(t *testing.T, dir string) {
	res, err := gen.Generate(context.Background(), gen.Config{Root: filepath.Join(dir, "input"), OutDir: "generated"})
	errFile := filepath.Join(dir, "error.txt")
	expDir := filepath.Join(dir, "expected")
	if *update {
		writeExpectations(t, dir, res, err)
		return
	}
	if want, rerr := os.ReadFile(errFile); rerr == nil {
		if err == nil {
			t.Fatalf("generated without error, want:\n%s", want)
		}
		if got := err.Error() + "\n"; got != string(want) {
			t.Errorf("diagnostics differ\ngot:\n%s\nwant:\n%s", got, want)
		}
		return
	}
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	want := readTree(t, expDir)
	if len(want) == 0 {
		t.Fatalf("case has neither error.txt nor expected/ (run with -update)")
	}
	got := map[string][]byte{}
	for _, f := range res.Files {
		got[strings.TrimPrefix(f.Path, "generated/")] = f.Content
	}
	if w := warningsText(res); w != "" {
		got["warnings.txt"] = []byte(w)
	}
	for name, content := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: expected but not generated", name)
		case !bytes.Equal(g, content):
			t.Errorf("%s differs from expected/ (rerun with -update and review the diff)\n%s", name, firstDiff(g, content))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: generated but not expected", name)
		}
	}
	typeCheck(t, res)
}

func warningsText(res *gen.Result) string {
	var b strings.Builder
	for _, w := range res.Warnings {
		b.WriteString(w.String() + "\n")
	}
	return b.String()
}

func writeExpectations(t *testing.T, dir string, res *gen.Result, err error) {
	errFile := filepath.Join(dir, "error.txt")
	expDir := filepath.Join(dir, "expected")
	if err := os.RemoveAll(expDir); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		if werr := os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644); werr != nil {
			t.Fatal(werr)
		}
		return
	}
	_ = os.Remove(errFile)
	files := map[string][]byte{}
	for _, f := range res.Files {
		files[strings.TrimPrefix(f.Path, "generated/")] = f.Content
	}
	if w := warningsText(res); w != "" {
		files["warnings.txt"] = []byte(w)
	}
	for name, content := range files {
		p := filepath.Join(expDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree reads every file under dir, keyed by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, rerr := os.ReadFile(p)
		if rerr != nil {
			t.Fatal(rerr)
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	return out
}

// firstDiff shows the first differing line.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got:  " + gl + "\n want: " + wl
		}
	}
	return ""
}

// typeCheck checks that the generated package compiles against the real
// runtime/rules (go/types with the source importer).
func typeCheck(t *testing.T, res *gen.Result) {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, f := range res.Files {
		// Subpackages (typedpb) import the real generated package, not the
		// case's; they are compiled for real in the repository's generated/.
		if !strings.HasSuffix(f.Path, ".go") || strings.Contains(strings.TrimPrefix(f.Path, "generated/"), "/") {
			continue
		}
		af, err := parser.ParseFile(fset, f.Path, f.Content, parser.ParseComments)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		files = append(files, af)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check("generated", fset, files, nil); err != nil {
		t.Fatalf("generated code does not type-check: %v", err)
	}
}
