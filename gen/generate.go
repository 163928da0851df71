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
	"fmt"
	"sort"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/emit"
	"github.com/eventrunner/eventrunner/gen/front"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// Version is the generator's version (kept in gen/front, which hashes it
// into the bundle): bump it there whenever the emitted code changes.
const Version = front.Version

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

// Load runs the front ends (front.Load): it reads and checks every schema
// and knowledge base. The returned error, if any, is a *diag.Errors
// listing every problem.
func Load(ctx context.Context, cfg Config) (*ir.Bundle, []diag.Diagnostic, error) {
	b, _, warnings, err := front.Load(ctx, front.Config{Root: cfg.Root, Lock: cfg.Lock})
	return b, warnings, err
}

// Generate loads the inputs and emits generated/ in memory.
func Generate(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.OutDir == "" {
		cfg.OutDir = "generated"
	}
	b, lock, warnings, err := front.Load(ctx, front.Config{Root: cfg.Root, Lock: cfg.Lock})
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
