package schemas

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/schema"
	"github.com/eventrunner/eventrunner/generated"
)

// TestEmbeddedAreCompiled: every schema version compiled into generated/
// has its document in FS, and that document is the one it was compiled
// from (same canonical hash); FS holds nothing else.
func TestEmbeddedAreCompiled(t *testing.T) {
	compiled := generated.Schemas()
	var l diag.List
	ld := schema.NewLoader(&l)
	for _, s := range compiled {
		name, ok := strings.CutPrefix(s.File, "schemas/")
		if !ok {
			t.Fatalf("%s: file %q is not under schemas/", s.ID, s.File)
		}
		src, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		ld.File(diag.NewFile(s.File, src))
	}
	if l.Err() != nil {
		t.Fatalf("embedded schemas do not load: %v", l.Err())
	}
	loaded := ld.Schemas()
	if len(loaded) != len(compiled) {
		t.Fatalf("%d embedded schemas load, %d are compiled", len(loaded), len(compiled))
	}
	hash := map[string]string{}
	for _, s := range loaded {
		hash[s.ID] = s.Hash
	}
	for _, s := range compiled {
		if hash[s.ID] != s.Hash {
			t.Errorf("%s: embedded document hashes to %s, compiled from %s: run go generate", s.ID, hash[s.ID], s.Hash)
		}
	}
	files, err := fs.Glob(FS, "*/*.json")
	if err != nil || len(files) != len(compiled) {
		t.Errorf("FS holds %d files (%v), %d schemas are compiled", len(files), err, len(compiled))
	}
}
