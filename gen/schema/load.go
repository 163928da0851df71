// Package schema loads schemas/**.json into ir, refusing anything outside the
// supported JSON Schema subset with file:line:col diagnostics.
package schema

import (
	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// PLACEHOLDER: replaced by the schema loader.
func Load(root string, l *diag.List) []*ir.Schema { return nil }
