package benchgen_test

import (
	"context"
	"testing"

	"github.com/hyperjumptech/grule-rule-engine/ast"
	"github.com/hyperjumptech/grule-rule-engine/builder"
	"github.com/hyperjumptech/grule-rule-engine/engine"
	"github.com/hyperjumptech/grule-rule-engine/logger"
	"github.com/hyperjumptech/grule-rule-engine/pkg"

	"github.com/eventrunner/eventrunner/gen/grl/benchgen"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// The speed bar of the GRL compiler: 100 distinct rules (testdata/bench),
// compiled versus grule with a reused KnowledgeBaseInstance. Run with
//
//	go test ./gen/grl/benchgen -run '^$' -bench . -benchmem

func init() { logger.SetLogLevel(logger.PanicLevel) }

// reset puts the fact back in the state every iteration starts from: 18
// of the 100 rules fire.
func reset(f *benchgen.TestSemV1) {
	*f = benchgen.TestSemV1{I: 500, X: 40, S: "abc", Nested: benchgen.TestSemV1Nested{Count: 7}}
}

const wantFired = 18

func BenchmarkCompiled100Rules(b *testing.B) {
	kb := benchgen.Bench100KB
	f := &benchgen.TestSemV1{}
	x := &rules.Exec{Fired: make([]string, 0, 128)}
	b.ReportAllocs()
	for b.Loop() {
		reset(f)
		x.Fired = x.Fired[:0]
		if err := kb.Execute(x, f); err != nil {
			b.Fatal(err)
		}
	}
	if len(x.Fired) != wantFired {
		b.Fatalf("fired %d rules, want %d", len(x.Fired), wantFired)
	}
}

type counter struct{ n *int }

func (counter) EvaluateRuleEntry(context.Context, uint64, *ast.RuleEntry, bool) {}
func (counter) BeginCycle(context.Context, uint64)                              {}
func (c counter) ExecuteRuleEntry(context.Context, uint64, *ast.RuleEntry)      { *c.n++ }

func BenchmarkGrule100Rules(b *testing.B) {
	kb := benchgen.Bench100KB
	lib := ast.NewKnowledgeLibrary()
	for _, s := range kb.Sources() {
		if err := builder.NewRuleBuilder(lib).BuildRuleFromResource(kb.Name(), kb.Version(), pkg.NewBytesResource([]byte(s.Text))); err != nil {
			b.Fatal(err)
		}
	}
	inst, err := lib.NewKnowledgeBaseInstance(kb.Name(), kb.Version())
	if err != nil {
		b.Fatal(err)
	}
	f := &benchgen.TestSemV1{}
	x := &rules.Exec{}
	fired := 0
	e := engine.NewGruleEngine()
	e.MaxCycle = uint64(kb.MaxCycles())
	e.Listeners = []engine.GruleEngineListener{counter{&fired}}
	b.ReportAllocs()
	for b.Loop() {
		reset(f)
		fired = 0
		dc := ast.NewDataContext()
		if err := dc.Add("F", f); err != nil {
			b.Fatal(err)
		}
		if err := dc.Add("Event", &x.Event); err != nil {
			b.Fatal(err)
		}
		if err := e.Execute(dc, inst); err != nil {
			b.Fatal(err)
		}
	}
	if fired != wantFired {
		b.Fatalf("fired %d rules, want %d", fired, wantFired)
	}
}

// TestCompiled100RulesAllocatesNothing is the zero-allocation bar.
func TestCompiled100RulesAllocatesNothing(t *testing.T) {
	kb := benchgen.Bench100KB
	f := &benchgen.TestSemV1{}
	x := &rules.Exec{Fired: make([]string, 0, 128)}
	allocs := testing.AllocsPerRun(200, func() {
		reset(f)
		x.Fired = x.Fired[:0]
		if err := kb.Execute(x, f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Execute allocates %v times per event", allocs)
	}
	if len(x.Fired) != wantFired {
		t.Fatalf("fired %d rules, want %d", len(x.Fired), wantFired)
	}
}
