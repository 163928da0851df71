// Package front runs the generator's front ends: it reads schemas/ and
// rules/, checks schema evolution against the lock and type-checks the
// knowledge bases into the ir, collecting every problem as file:line:col.
// It is the part of gen/ that `eventrunner check` needs; the emitters
// (gen/emit, jennifer, the protobuf generators) stay out of the engine
// binary.
//
// Imports: gen/diag, gen/evolve, gen/grl, gen/ir, gen/schema.
package front

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/evolve"
	"github.com/eventrunner/eventrunner/gen/grl"
	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/schema"
)

// Version is the generator's version. It is part of the bundle hash, so a
// generator change yields a new bundle version. Bump it whenever the emitted
// code changes: gen's TestGeneratorVersion fails when the output for an
// unchanged test input changes under the same Version (see
// gen/testdata/generator-version.txt).
const Version = "0.4.0"

// Config says where the inputs are.
type Config struct {
	// Root is the repository root holding schemas/ and rules/.
	Root string
	// Lock is the schema lock file relative to Root (see gen/evolve); empty
	// means no lock: nothing is published, but each new version is still
	// checked for compatibility with the previous one.
	Lock string
}

// Load reads and checks every schema and knowledge base, and returns the
// bundle, the schema lock it checked against (nil without one) and the
// warnings. The error, if any, is a *diag.Errors listing every problem.
func Load(_ context.Context, cfg Config) (*ir.Bundle, *evolve.Lock, []diag.Diagnostic, error) {
	var diags diag.List
	schemas := schema.Load(cfg.Root, &diags)
	// Schema evolution: published versions unchanged, new versions
	// compatible with their predecessors (gen/evolve).
	var lock *evolve.Lock
	if cfg.Lock != "" {
		lock = evolve.ReadLock(cfg.Root, cfg.Lock, &diags)
	}
	evolve.Check(cfg.Root, schemas, lock, &diags)
	var kbs []*ir.KB
	if !diags.HasErrors() {
		kbs = grl.Load(cfg.Root, schemas, &diags)
	}
	if err := diags.Err(); err != nil {
		return nil, nil, nil, err
	}
	b := &ir.Bundle{Schemas: schemas, KBs: kbs, GeneratorVersion: Version}
	b.Hash = bundleHash(b)
	return b, lock, diags.Sorted(), nil
}

// bundleHash names the exact bundle: every schema and GRL file and the
// generator version.
func bundleHash(b *ir.Bundle) string {
	h := sha256.New()
	fmt.Fprintf(h, "eventgen %s\n", b.GeneratorVersion)
	for _, s := range b.Schemas {
		fmt.Fprintf(h, "schema %s %s\n", s.ID, s.Hash)
	}
	for _, kb := range b.KBs {
		fmt.Fprintf(h, "kb %s %s %d\n", kb.Name, kb.Version, kb.MaxCycles)
		for _, src := range kb.Sources {
			sum := sha256.Sum256([]byte(src.Text))
			fmt.Fprintf(h, "grl %s %x\n", src.Path, sum)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
