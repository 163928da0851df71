// Package grl loads rules/*/kb.yaml and *.grl, parses GRL with grule's own
// ANTLR grammar and type-checks it against the schema ir.
package grl

import (
	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// PLACEHOLDER: replaced by the GRL compiler.
func Load(root string, schemas []*ir.Schema, l *diag.List) []*ir.KB { return nil }
