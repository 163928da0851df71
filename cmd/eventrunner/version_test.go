package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
)

// TestVersion checks that version names the bundle and every compiled
// schema and knowledge base, with the stable first two lines scripts (and
// make image) read.
func TestVersion(t *testing.T) {
	var b bytes.Buffer
	writeVersion(&b, generated.Registry())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if lines[0] != "eventrunner "+version || lines[1] != "bundle "+generated.BundleHash {
		t.Fatalf("first lines %q, want engine version and bundle hash", lines[:2])
	}
	out := b.String()
	for _, s := range generated.Schemas() {
		if !strings.Contains(out, "schema "+s.ID+" sha256:"+s.Hash[:12]+" "+s.File+"\n") {
			t.Errorf("schema %s missing:\n%s", s.ID, out)
		}
	}
	for _, kb := range generated.KnowledgeBases() {
		if !strings.Contains(out, "kb "+kb.Name()+" "+kb.Version()+" binds "+kb.SchemaID()+" ") {
			t.Errorf("knowledge base %s missing:\n%s", kb.Name(), out)
		}
	}
}
