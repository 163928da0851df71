package oracle_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/eventrunner/eventrunner/gen/oracle/internal/factgen"
	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// TestRandomFactsAreValid checks the filler against the generated
// validators and codecs: every random fact of every schema validates, and
// survives AppendJSON → DecodeJSON unchanged. The oracle's inputs are thus
// events the engine would accept.
func TestRandomFactsAreValid(t *testing.T) {
	var lits factgen.Literals
	for _, kb := range generated.Registry().KnowledgeBases() {
		for _, src := range kb.Sources() {
			l := factgen.ExtractLiterals(src.Text)
			lits.Strings = append(lits.Strings, l.Strings...)
			lits.Numbers = append(lits.Numbers, l.Numbers...)
		}
	}
	for _, s := range generated.Registry().Schemas() {
		t.Run(s.ID, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repoRoot, s.File))
			if err != nil {
				t.Fatal(err)
			}
			node, err := factgen.ParseSchema(data)
			if err != nil {
				t.Fatal(err)
			}
			f := factgen.NewFiller(node, lits, "X")
			for i := range 2000 {
				fact := s.New()
				if err := f.Fill(rand.New(rand.NewPCG(7, uint64(i))), fact); err != nil {
					t.Fatal(err)
				}
				var v rules.Violations
				fact.Validate(&v)
				js := fact.AppendJSON(nil)
				if err := v.Err(); err != nil {
					t.Fatalf("fact %d: %v\n%s", i, err, js)
				}
				back := s.New()
				if err := rules.Decode(back, js); err != nil {
					t.Fatalf("fact %d does not decode: %v\n%s", i, err, js)
				}
				if d := factgen.Diff(back, fact, 5); len(d) > 0 {
					t.Fatalf("fact %d changed in a JSON round trip: %v\n%s", i, d, js)
				}
			}
		})
	}
}
