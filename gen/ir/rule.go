package ir

import "github.com/eventrunner/eventrunner/gen/diag"

// Rule is one type-checked GRL rule.
// (Owned by the GRL compiler: it extends this with the typed condition and
// actions.)
type Rule struct {
	Name        string
	Description string
	Salience    int
	// Text is the rule's GRL source, kept as a comment above its compiled
	// functions.
	Text string
	Pos  diag.Pos
}
