package gen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate regenerates the repository's bundle in memory and
// compares it with generated/ on disk, so a stale checkout fails here as
// well as in CI's `go generate` diff.
func TestGeneratedUpToDate(t *testing.T) {
	res, err := Generate(context.Background(), Config{Root: ".."})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	want := map[string]bool{}
	for _, f := range res.Files {
		want[filepath.Clean(f.Path)] = true
		got, err := os.ReadFile(filepath.Join("..", f.Path))
		if err != nil {
			t.Errorf("%s: missing, run go generate ./...", f.Path)
			continue
		}
		if !bytes.Equal(got, f.Content) {
			t.Errorf("%s: stale, run go generate ./...", f.Path)
		}
	}
	stale, err := staleFiles("..", "generated", want)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		t.Errorf("%s: no longer generated, run go generate ./...", s)
	}
}
