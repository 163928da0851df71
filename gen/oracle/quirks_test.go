package oracle_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen"
	"github.com/eventrunner/eventrunner/gen/oracle/internal/factgen"
	"github.com/eventrunner/eventrunner/gen/oracle/quirkgen"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Q is the quirk fact (testdata/quirks/schemas/com.acme.quirk.fact/v1.json).
type Q = quirkgen.QuirkFactV1

// want is one pinned outcome.
type want struct {
	fact  Q
	fired []string
	tags  []string
	// maxCycles, when set, expects a *rules.MaxCycleError of that limit.
	maxCycles int
}

type quirk struct {
	name, kb string
	in       Q
	grule    want
	// compiled is nil when the compiled executor must equal grule; else it
	// is a deliberate deviation listed in docs/grl-compat.md, and both
	// behaviours are pinned.
	compiled *want
}

const maxInt = math.MaxInt64

// toInt converts at run time, as both executors do.
func toInt(f float64) int64 { return int64(f) }

var quirks = []quirk{
	{name: "int/int yields float64", kb: "div", in: Q{X: 7, Y: 2},
		grule: want{fact: Q{X: 7, Y: 2, F: 3.5, G: 3.5, Z: 3, Log: "divided"}, fired: []string{"Div"}}},
	{name: "negative quotient truncates toward zero in an int field", kb: "div", in: Q{X: -7, Y: 2},
		grule: want{fact: Q{X: -7, Y: 2, F: -3.5, G: 3.5, Z: -3, Log: "divided"}, fired: []string{"Div"}}},
	{name: "division by zero is +Inf, not an error", kb: "div", in: Q{X: 1, Y: 0},
		// +Inf to int64 is Go's platform-dependent conversion in both.
		grule: want{fact: Q{X: 1, F: math.Inf(1), G: 3.5, Z: toInt(math.Inf(1)), Log: "divided"}, fired: []string{"Div"}}},
	{name: "MaxInt64 + 1 wraps to MinInt64", kb: "wrap", in: Q{X: maxInt, Y: 1},
		grule: want{fact: Q{X: maxInt, Y: 1, Z: math.MinInt64, Count: maxInt, Log: "wrapped"}, fired: []string{"Wrap"}}},
	{name: "MaxInt64 * 2 wraps to -2", kb: "wrap", in: Q{X: maxInt, Y: 2},
		grule: want{fact: Q{X: maxInt, Y: 2, Z: math.MinInt64 + 1, Count: -2, Log: "wrapped"}, fired: []string{"Wrap"}}},
	{name: "MaxCycle error after max_cycles firings", kb: "maxcycle", in: Q{},
		grule: want{fact: Q{Count: 5}, fired: []string{"Loop", "Loop", "Loop", "Loop", "Loop"}, maxCycles: 5}},
	{name: "statements after Complete() run; no further cycle", kb: "complete", in: Q{},
		grule: want{fact: Q{Count: 1, S: "after complete"}, fired: []string{"First"}}},
	{name: "without Complete() the next rule runs", kb: "complete", in: Q{Count: 1},
		grule: want{fact: Q{Count: 2, T: "second ran"}, fired: []string{"Second"}}},
	{name: "a retracted rule never fires again", kb: "retract", in: Q{},
		grule: want{fact: Q{Count: 3, Log: "once;again;again;"}, fired: []string{"Once", "Again", "Again"}}},
	{name: "& and | are additive, left to right", kb: "precedence", in: Q{X: 1, Y: 2, Count: 2},
		// Go would give X + (Y & Count) = 3; grule (X + Y) & Count = 2.
		grule: want{fact: Q{X: 1, Y: 2, Count: 2, Z: 2, T: "5", F: 1, Log: "done"}, fired: []string{"Precedence"}}},
	{name: "float to int field truncates", kb: "truncate", in: Q{F: 2.9, G: -2.9},
		grule: want{fact: Q{F: 2.9, G: -2.9, Z: 2, Y: 8, X: -2, Log: "truncated"}, fired: []string{"Truncate"}}},
	{name: "string + int, float (%f), bool", kb: "concat", in: Q{X: 42, F: 0.1, B: true, T: "t:"},
		grule: want{fact: Q{X: 42, F: 0.1, B: true, S: "x=42 f=0.100000 b=true", T: "t:420.100000", Log: "joined"}, fired: []string{"Concat"}}},
	{name: "large floats are not in exponent form", kb: "concat", in: Q{X: -1, F: 1e21},
		grule: want{fact: Q{X: -1, F: 1e21, S: "x=-1 f=1000000000000000000000.000000 b=false", T: "-11000000000000000000000.000000", Log: "joined"}, fired: []string{"Concat"}}},
	{name: "index out of range in when: no match, no error", kb: "whenerror", in: Q{List: []int64{1, 2}},
		grule: want{fact: Q{List: []int64{1, 2}, Log: "fallback"}, fired: []string{"Fallback"}}},
	{name: "index in range: the rule matches", kb: "whenerror", in: Q{List: []int64{1, 2, 3, 4}},
		grule: want{fact: Q{List: []int64{1, 2, 3, 4}, Log: "matched"}, fired: []string{"Index"}}},
	// docs/grl-compat.md, deviation 2.
	{name: "a method call in then runs once per execution", kb: "memothen", in: Q{},
		grule:    want{fact: Q{Count: 2, Names: []string{"x"}}, fired: []string{"AppendTwice", "AppendTwice"}},
		compiled: &want{fact: Q{Count: 2, Names: []string{"x", "x"}}, fired: []string{"AppendTwice", "AppendTwice"}}},
	// docs/grl-compat.md, deviation 1.
	{name: "a memoised Event.HasTag in when never sees the tag", kb: "memowhen", in: Q{S: "tag"},
		grule:    want{fact: Q{S: "tag", Z: 10}, fired: slices.Repeat([]string{"TagOnce"}, 10), tags: []string{"seen"}, maxCycles: 10},
		compiled: &want{fact: Q{S: "tag", Z: 1}, fired: []string{"TagOnce"}, tags: []string{"seen"}}},
}

// TestQuirks pins grule's semantics on each quirk and shows the compiled
// executor equal to it, or, for a documented deviation, both behaviours.
func TestQuirks(t *testing.T) {
	reg := quirkgen.Registry()
	seen := map[string]bool{}
	for _, q := range quirks {
		t.Run(q.kb+"/"+q.name, func(t *testing.T) {
			compiled, ok := reg.KnowledgeBase(q.kb)
			if !ok {
				t.Fatalf("quirkgen has no knowledge base %s: run go generate ./gen/oracle", q.kb)
			}
			seen[q.kb] = true
			grule, err := interp.FromCompiled(compiled)
			if err != nil {
				t.Fatal(err)
			}
			ev := rules.Event{Type: "com.acme.quirk.fact", Source: "quirks", TenantID: "acme"}
			g := run(grule, &rules.Exec{}, &ev, factgen.Clone(&q.in))
			checkWant(t, "grule", g, q.grule)
			c := run(compiled, &rules.Exec{}, &ev, factgen.Clone(&q.in))
			if q.compiled == nil {
				if d := compare(c, g); len(d) > 0 {
					t.Errorf("compiled differs from grule: %s\ncompiled: %s\ngrule:    %s", strings.Join(d, "; "), c, g)
				}
				return
			}
			checkWant(t, "compiled (documented deviation)", c, *q.compiled)
		})
	}
	for _, kb := range reg.KnowledgeBases() {
		if !seen[kb.Name()] {
			t.Errorf("quirk knowledge base %s has no case", kb.Name())
		}
	}
}

func checkWant(t *testing.T, who string, got outcome, w want) {
	t.Helper()
	if d := factgen.Diff(got.Fact, &w.fact, 10); len(d) > 0 {
		t.Errorf("%s: fact differs from the pinned one: %s", who, strings.Join(d, "; "))
	}
	if !slices.Equal(got.Fired, w.fired) {
		t.Errorf("%s: fired %q, want %q", who, got.Fired, w.fired)
	}
	if !slices.Equal(got.Tags, w.tags) {
		t.Errorf("%s: tags %q, want %q", who, got.Tags, w.tags)
	}
	wantErr := ""
	if w.maxCycles > 0 {
		wantErr = (&rules.MaxCycleError{MaxCycles: w.maxCycles}).Error()
	}
	if errKind(got.Err) != wantErr {
		t.Errorf("%s: error %v, want %q", who, got.Err, wantErr)
	}
}

// TestQuirkgenUpToDate regenerates quirkgen in memory and compares it with
// the files on disk, so edited quirk cases cannot run against stale code.
func TestQuirkgenUpToDate(t *testing.T) {
	const root, out = "testdata/quirks", "../../quirkgen"
	res, err := gen.Generate(context.Background(), gen.Config{Root: root, OutDir: out, NoTypedGRPC: true})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	want := map[string]bool{}
	for _, f := range res.Files {
		want[filepath.Base(f.Path)] = true
		got, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil || !bytes.Equal(got, f.Content) {
			t.Errorf("%s: missing or stale, run go generate ./gen/oracle", f.Path)
		}
	}
	entries, err := os.ReadDir("quirkgen")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("quirkgen/%s: no longer generated, run go generate ./gen/oracle", e.Name())
		}
	}
}
