// Package gen is eventrunner's generator: it loads schemas/ and rules/,
// validates and type-checks them, and emits generated/ in memory.
//
// The pipeline is: sources → schema.Load / grl.Load (front ends producing
// ir) → emit (jennifer emitters that read ir only). Every user error is
// collected and reported as file:line:col: message, sorted.
package gen

//go:generate go run ./cmd/eventgen -root .. -lock schemas/schemas.lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/emit"
	"github.com/eventrunner/eventrunner/gen/evolve"
	"github.com/eventrunner/eventrunner/gen/grl"
	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/schema"
)

// Version is the generator's version. It is part of the bundle hash, so a
// generator change yields a new bundle version. Bump it whenever the emitted
// code changes: TestGeneratorVersion fails when the output for an unchanged
// test input changes under the same Version (see
// gen/testdata/generator-version.txt).
const Version = "0.2.0"

// Config says where the inputs are and what to emit.
type Config struct {
	// Root is the repository root holding schemas/ and rules/.
	Root string
	// OutDir is the output directory relative to Root (default "generated").
	OutDir string
	// Lock is the schema lock file relative to Root (see gen/evolve); empty
	// means no lock: nothing is published, but each new version is still
	// checked for compatibility with the previous one.
	Lock string
	// NoTypedGRPC leaves out the typed gRPC API (see emit.Options).
	NoTypedGRPC bool
}

// File is one generated file, with its path relative to Root.
type File = emit.File

// Result is what one run of the pipeline produced.
type Result struct {
	Bundle *ir.Bundle
	Files  []File
	// Warnings are non-fatal diagnostics (e.g. equal salience).
	Warnings []diag.Diagnostic
	// Lock is the updated schema lock (every published version plus this
	// run's new ones); nil when Config.Lock is empty.
	Lock *File
}

// Load runs the front ends: it reads and checks every schema and knowledge
// base. The returned error, if any, is a *diag.Errors listing every problem.
func Load(ctx context.Context, cfg Config) (*ir.Bundle, []diag.Diagnostic, error) {
	b, _, warnings, err := load(cfg)
	return b, warnings, err
}

// load is Load plus the schema lock it checked against (nil without one).
func load(cfg Config) (*ir.Bundle, *evolve.Lock, []diag.Diagnostic, error) {
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

// Generate loads the inputs and emits generated/ in memory.
func Generate(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.OutDir == "" {
		cfg.OutDir = "generated"
	}
	b, lock, warnings, err := load(cfg)
	if err != nil {
		return nil, err
	}
	files, err := emit.Bundle(b, cfg.OutDir, emit.Options{NoTypedGRPC: cfg.NoTypedGRPC})
	if err != nil {
		return nil, fmt.Errorf("gen: emit: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	res := &Result{Bundle: b, Files: files, Warnings: warnings}
	if lock != nil {
		res.Lock = &File{Path: cfg.Lock, Content: lock.Updated(b.Schemas)}
	}
	return res, nil
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
