package gen

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackageDocsNameTheirImports keeps the "imports" line of every runtime
// package's doc.go true: each project package it imports is named there
// (a doc that claims fewer imports than the code has drifted).
func TestPackageDocsNameTheirImports(t *testing.T) {
	if testing.Short() {
		t.Skip("go list over the module is slow; skipped in -short")
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Dir,Imports", "../runtime/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath, Dir string
			Imports         []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		doc := packageDoc(t, filepath.Join(p.Dir, "doc.go"))
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		if doc == "" {
			if !strings.HasSuffix(rel, "test") && !strings.HasSuffix(rel, "pb") {
				t.Errorf("%s has no doc.go saying its role and what it may import", rel)
			}
			continue
		}
		if strings.Contains(doc, "imports the other runtime packages") {
			continue // the composition root, runtime/app
		}
		for _, imp := range p.Imports {
			if dep, ok := strings.CutPrefix(imp, module+"/"); ok && !mentions(doc, dep) {
				t.Errorf("%s/doc.go does not name %s, which the package imports", rel, dep)
			}
		}
	}
}

func packageDoc(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		return ""
	}
	return f.Doc.Text()
}

// mentions reports whether doc names dep as a path (runtime/x), not as a
// prefix of a longer one (runtime/x/y).
func mentions(doc, dep string) bool {
	return regexp.MustCompile(regexp.QuoteMeta(dep) + `($|[^/\w])`).MatchString(strings.Join(strings.Fields(doc), " "))
}
