package interp

import (
	"context"
	"fmt"

	"github.com/hyperjumptech/grule-rule-engine/ast"
	"github.com/hyperjumptech/grule-rule-engine/engine"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// instance is one grule knowledge-base instance with its engine. It is used
// by one Execute at a time.
type instance struct {
	kb     *ast.KnowledgeBase
	engine *engine.GruleEngine
	fired  firedListener
}

func newInstance(kb *ast.KnowledgeBase, maxCycles int) *instance {
	in := &instance{kb: kb, engine: engine.NewGruleEngine()}
	in.engine.MaxCycle = uint64(maxCycles)
	in.engine.Listeners = []engine.GruleEngineListener{&in.fired}
	return in
}

// run executes the instance over one fact. The data context is new each
// time: grule keeps Complete() and retracted facts in it, and it is cheap.
func (in *instance) run(x *rules.Exec, factName string, fact rules.Fact) error {
	dc := ast.NewDataContext()
	if err := dc.Add(factName, fact); err != nil {
		return fmt.Errorf("interp: add fact %s: %w", factName, err)
	}
	if err := dc.Add(EventFact, &x.Event); err != nil {
		return fmt.Errorf("interp: add fact %s: %w", EventFact, err)
	}
	in.fired.x, in.fired.last = x, ""
	defer func() { in.fired.x = nil }()
	err := in.engine.Execute(dc, in.kb)
	return typedError(err, int(in.engine.MaxCycle), in.fired.last)
}

// firedListener records fired rules in order, as grule announces them just
// before running a rule's `then`.
type firedListener struct {
	x    *rules.Exec
	last string
}

func (l *firedListener) EvaluateRuleEntry(context.Context, uint64, *ast.RuleEntry, bool) {}

func (l *firedListener) BeginCycle(context.Context, uint64) {}

func (l *firedListener) ExecuteRuleEntry(_ context.Context, _ uint64, e *ast.RuleEntry) {
	l.last = e.RuleName
	l.x.Fired = append(l.x.Fired, e.RuleName)
}
