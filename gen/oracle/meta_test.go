package oracle_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// TestOracleCatchesDifferences feeds the oracle a "compiled" knowledge base
// that is subtly wrong (grule running altered GRL) and checks that the
// random facts expose each alteration: a test that cannot fail proves
// nothing.
func TestOracleCatchesDifferences(t *testing.T) {
	reg := generated.Registry()
	orig, ok := reg.KnowledgeBase("orders")
	if !ok {
		t.Skip("generated/ has no orders knowledge base")
	}
	base, err := interp.FromCompiled(orig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"assignment", "Order.Priority = 8;", "Order.Priority = 7;", "fact.Priority"},
		{"boundary", "Order.Total >= 500 &&", "Order.Total > 500 &&", "fact"},
		{"salience", `"everything else is reviewed by a person" salience 5`, `"everything else is reviewed by a person" salience 11`, "fired rules differ"},
		{"event action", `Event.Route("customs");`, `Event.Route("customs"); Event.Tag("x");`, "Event actions differ"},
		{"string literal", `HasPrefix("app/")`, `HasPrefix("app")`, "Event actions differ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := interp.Spec{Name: base.Name(), Version: base.Version(), On: base.On(), FactName: base.FactName(),
				SchemaID: base.SchemaID(), MaxCycles: base.MaxCycles()}
			changed := false
			for _, src := range base.Sources() {
				if strings.Contains(src.Text, tc.old) {
					src.Text, changed = strings.Replace(src.Text, tc.old, tc.new, 1), true
				}
				spec.Sources = append(spec.Sources, src)
			}
			if !changed {
				t.Fatalf("rules/orders no longer contains %q; update this test", tc.old)
			}
			wrong, err := interp.New(spec)
			if err != nil {
				t.Fatal(err)
			}
			o := newOracle(t, reg, pair{name: "orders", compiled: wrong, grule: base}, 1)
			for i := range 3000 {
				if msg := o.check(t, i); msg != "" {
					if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "ORACLE_FACT=") {
						t.Errorf("difference reported without %q or a replay line:\n%s", tc.want, msg)
					}
					return
				}
			}
			t.Errorf("3000 random facts did not expose %q → %q", tc.old, tc.new)
		})
	}
}

func TestErrKind(t *testing.T) {
	mc := &rules.MaxCycleError{MaxCycles: 5}
	tests := []struct {
		a, b error
		same bool
	}{
		{nil, nil, true},
		{nil, mc, false},
		{mc, errors.New(mc.Error()), false}, // grule's text must come typed from interp
		{mc, &rules.MaxCycleError{MaxCycles: 5}, true},
		{mc, &rules.MaxCycleError{MaxCycles: 6}, false},
		{&rules.RuleError{Rule: "A", Err: errors.New("x")}, &rules.RuleError{Rule: "A", Err: errors.New("y")}, true},
		{&rules.RuleError{Rule: "A", Err: errors.New("x")}, &rules.RuleError{Rule: "B", Err: errors.New("x")}, false},
	}
	for i, tc := range tests {
		if got := errKind(tc.a) == errKind(tc.b); got != tc.same {
			t.Errorf("%d: errKind(%v) == errKind(%v) is %v, want %v", i, tc.a, tc.b, got, tc.same)
		}
	}
}
