package rules

import "fmt"

// DefaultMaxCycles is grule's default cycle limit.
const DefaultMaxCycles = 5000

// GeneratedVersion guards generated code against a stale generator: generated
// files refer to the constant of the API version they were written for, so a
// mismatch fails to compile. Version 2: decoders keep the members a schema
// allows but does not name (Extra), record which properties were present,
// refuse duplicate members and mangled strings, and accept integers written
// with a zero fraction or an exponent; code of version 1 would silently drop
// what version 2 keeps.
const GeneratedVersion2 = true

// RuleInfo describes one rule of a knowledge base.
type RuleInfo struct {
	Name        string
	Description string
	Salience    int
}

// KnowledgeBase is a compiled knowledge base. Implementations are generated,
// hold no per-event state and are safe for concurrent use; per-event state
// lives in the *Exec passed to Execute.
type KnowledgeBase interface {
	Name() string
	Version() string
	// On lists the CloudEvent types that trigger the knowledge base.
	On() []string
	// FactName is the GRL name of the data fact, e.g. "Order".
	FactName() string
	// SchemaID is the schema version of the data fact the knowledge base binds.
	SchemaID() string
	// Rules lists the rules in declaration order.
	Rules() []RuleInfo
	// MaxCycles is the cycle limit (kb.yaml max_cycles, default 5000).
	MaxCycles() int
	// Sources are the GRL files the knowledge base was compiled from.
	Sources() []Source
	// Execute runs grule's cycle over fact (whose SchemaID must be SchemaID())
	// and x.Event, appending the names of fired rules to x.Fired.
	Execute(x *Exec, fact Fact) error
}

// Run executes kb over fact as kb.Execute does, turning a panic in the
// rules into an error, so that one event's failure stays that event's (the
// engine dead-letters it, a replay reports it).
func Run(kb KnowledgeBase, x *Exec, fact Fact) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return kb.Execute(x, fact)
}

// Exec is the reusable per-worker state of rule execution. It is not safe for
// concurrent use; keep one per goroutine (e.g. in a sync.Pool).
type Exec struct {
	// Event is the built-in fact; fill its attributes before Execute.
	Event Event
	// Fired collects the names of fired rules, in firing order, across every
	// knowledge base executed since the last Reset.
	Fired []string
}

// Reset prepares x for the next event, keeping capacity.
func (x *Exec) Reset() {
	x.Event.Reset()
	x.Fired = x.Fired[:0]
}

// MaxCycleError is returned when rules keep firing past the cycle limit. Its
// message is grule's, word for word.
type MaxCycleError struct {
	MaxCycles int
}

func (e *MaxCycleError) Error() string {
	return fmt.Sprintf("the GruleEngine successfully selected rule candidate for execution after %d cycles, this could possibly caused by rule entry(s) that keep added into execution pool but when executed it does not change any data in context. Please evaluate your rule entries \"When\" and \"Then\" scope. You can adjust the maximum cycle using GruleEngine.MaxCycle variable", e.MaxCycles)
}

// RuleError is a run-time failure inside a rule's `then` (e.g. an index out of
// range), named like grule names it.
type RuleError struct {
	Rule string
	Err  error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("error while executing rule %s. got %v", e.Rule, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Source is one GRL file of a knowledge base, compiled into the binary so that
// the same rules can run through grule, the reference semantics.
type Source struct {
	Path string
	Text string
}
