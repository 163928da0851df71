package gen

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTypedAPICompiles generates the richest golden case (nested objects,
// arrays of arrays, enums in arrays) into a package inside this module and
// builds and vets it, typed gRPC code included: the golden test compares
// that code as text, and the repository's own schemas do not exercise every
// construct.
func TestTypedAPICompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated code")
	}
	dir, err := os.MkdirTemp("testdata", "typedcompile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	out := filepath.ToSlash(filepath.Join("gen", dir, "generated"))
	res, err := Generate(context.Background(), Config{Root: filepath.Join("testdata", "cases", "schema_rich", "input"), OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		p := filepath.Join("..", f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs := []string{"./" + filepath.ToSlash(dir) + "/generated", "./" + filepath.ToSlash(dir) + "/generated/typedpb"}
	if b, err := exec.Command("go", append([]string{"vet"}, pkgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("go vet: %v\n%s", err, b)
	}
}
