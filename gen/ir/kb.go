package ir

import "github.com/eventrunner/eventrunner/gen/diag"

// KB is one knowledge base: rules/<dir>/kb.yaml plus its *.grl files,
// type-checked against the schema of its data fact.
type KB struct {
	Name      string   // kb.yaml name
	Version   string   // kb.yaml version
	On        []string // CloudEvent types that trigger it
	FactName  string   // GRL name of the data fact, e.g. "Order"
	Schema    *Schema  // schema of the data fact
	MaxCycles int      // kb.yaml max_cycles, default 5000
	Dir       string   // rules/<dir>, relative to the repository root
	// GoName names the generated identifiers, e.g. "Orders" → OrdersKB.
	GoName string
	// FileStem names the generated file, e.g. "orders" → orders.kb.go.
	FileStem string
	// Sources are the GRL files in path order, kept so that the binary can
	// run the same rules through grule (the reference semantics).
	Sources []Source
	// Rules in declaration order (files in path order, rules in file order).
	Rules []*Rule
	Pos   diag.Pos
}

// Source is one GRL file of a knowledge base.
type Source struct {
	Path string // relative to the repository root
	Text string
}
