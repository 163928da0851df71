package oracle_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/oracle/internal/factgen"
	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

const repoRoot = "../.."

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, s)
	}
	return n
}

// pair is one knowledge base as compiled and as interpreted by grule.
type pair struct {
	name     string
	compiled rules.KnowledgeBase // nil while generated/ has no compiled KBs
	grule    *interp.KB
}

// TestOracle is the differential test of DESIGN.md §3.
func TestOracle(t *testing.T) {
	reg := generated.Registry()
	pairs := oraclePairs(t, reg)
	n := envInt(t, "ORACLE_N", 10000)
	seed := uint64(envInt(t, "ORACLE_SEED", 1))
	only := envInt(t, "ORACLE_FACT", -1)
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if p.compiled == nil {
				t.Logf("%s: generated/ has no compiled knowledge bases yet: checking grule only", p.name)
			}
			o := newOracle(t, reg, p, seed)
			from, to := 0, n
			if only >= 0 {
				from, to = only, only+1
			}
			for i := from; i < to; i++ {
				if msg := o.check(t, i); msg != "" {
					t.Fatal(msg)
				}
			}
			o.report(t, to-from)
		})
	}
}

// oraclePairs matches the compiled knowledge bases with grule twins built
// from their sources. Before the GRL compiler has produced any, it loads
// rules/ directly so that the example knowledge bases are still checked
// under grule.
func oraclePairs(t *testing.T, reg *rules.Registry) []pair {
	fromDir, err := interp.LoadDir(filepath.Join(repoRoot, "rules"), reg)
	if err != nil {
		t.Fatalf("rules/: %v", err)
	}
	compiled := reg.KnowledgeBases()
	var pairs []pair
	if len(compiled) == 0 {
		for _, kb := range fromDir {
			pairs = append(pairs, pair{name: kb.Name(), grule: kb})
		}
		return pairs
	}
	for _, c := range compiled {
		twin, err := interp.FromCompiled(c)
		if err != nil {
			t.Fatalf("%s: grule refuses the compiled knowledge base's sources: %v", c.Name(), err)
		}
		if !reflect.DeepEqual(twin.Rules(), c.Rules()) {
			t.Errorf("%s: rules differ:\ncompiled %+v\ngrule    %+v", c.Name(), c.Rules(), twin.Rules())
		}
		pairs = append(pairs, pair{name: c.Name(), compiled: c, grule: twin})
	}
	for _, kb := range fromDir {
		c, ok := reg.KnowledgeBase(kb.Name())
		if !ok {
			t.Errorf("rules/ has knowledge base %s but generated/ does not: run go generate ./gen", kb.Name())
			continue
		}
		if !sameSources(kb.Sources(), c.Sources()) {
			t.Errorf("%s: generated/ was compiled from other GRL than rules/ holds: run go generate ./gen", kb.Name())
		}
	}
	return pairs
}

func sameSources(dir, compiled []rules.Source) bool {
	if len(dir) != len(compiled) {
		return false
	}
	for i := range dir {
		if dir[i].Text != compiled[i].Text || filepath.Base(dir[i].Path) != filepath.Base(compiled[i].Path) {
			return false
		}
	}
	return true
}

// oracle runs one knowledge base pair over random facts.
type oracle struct {
	p      pair
	schema *rules.Schema
	filler *factgen.Filler
	seed   uint64
	// xc and xg are reused across facts, as the engine reuses them.
	xc, xg rules.Exec
	fired  map[string]int
	errs   int
	// firstErr is the first grule error seen, for the report.
	firstErr string
	cycles   int
	compared int
}

func newOracle(t *testing.T, reg *rules.Registry, p pair, seed uint64) *oracle {
	s, ok := reg.Schema(p.grule.SchemaID())
	if !ok {
		t.Fatalf("unknown schema %s", p.grule.SchemaID())
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, s.File))
	if err != nil {
		t.Fatal(err)
	}
	node, err := factgen.ParseSchema(data)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, src := range p.grule.Sources() {
		texts = append(texts, src.Text)
	}
	lits := factgen.ExtractLiterals(texts...)
	t.Logf("literals: %s", lits)
	return &oracle{p: p, schema: s, filler: factgen.NewFiller(node, lits, p.grule.FactName()), seed: seed, fired: map[string]int{}}
}

// outcome is what one execution produced.
type outcome struct {
	Fact    rules.Fact
	JSON    string
	Fired   []string
	Tags    []string
	Routes  []string
	Dropped bool
	Err     error
}

func run(kb rules.KnowledgeBase, x *rules.Exec, ev *rules.Event, fact rules.Fact) outcome {
	x.Reset()
	x.Event = *ev
	err := kb.Execute(x, fact)
	return outcome{
		Fact: fact, JSON: string(fact.AppendJSON(nil)), Fired: slices.Clone(x.Fired),
		Tags: slices.Clone(x.Event.Tags()), Routes: slices.Clone(x.Event.Routes()), Dropped: x.Event.IsDropped(), Err: err,
	}
}

// check runs fact i through both executors and describes any difference.
func (o *oracle) check(t *testing.T, i int) string {
	r := rand.New(rand.NewPCG(o.seed, uint64(i)))
	fact := o.schema.New()
	if err := o.filler.Fill(r, fact); err != nil {
		t.Fatal(err)
	}
	var ev rules.Event
	o.filler.Event(r, &ev, o.p.grule.On())
	input := string(fact.AppendJSON(nil))

	g := run(o.p.grule, &o.xg, &ev, factgen.Clone(fact))
	for _, name := range g.Fired {
		o.fired[name]++
	}
	o.cycles += len(g.Fired)
	if g.Err != nil {
		o.errs++
		if o.firstErr == "" {
			o.firstErr = fmt.Sprintf("fact %d (%s): %v", i, input, g.Err)
		}
	}
	if o.p.compiled == nil {
		return ""
	}
	o.compared++
	c := run(o.p.compiled, &o.xc, &ev, factgen.Clone(fact))
	if diffs := compare(c, g); len(diffs) > 0 {
		return fmt.Sprintf("compiled %s differs from grule on fact %d:\n  %s\n"+
			"input: %s\nevent: %+v\ncompiled: %s\ngrule:    %s\n"+
			"replay: ORACLE_SEED=%d ORACLE_FACT=%d go test ./gen/oracle -run 'TestOracle/%s'",
			o.p.name, i, strings.Join(diffs, "\n  "), input, eventAttrs(&ev), c, g, o.seed, i, o.p.name)
	}
	return ""
}

func compare(c, g outcome) []string {
	var d []string
	for _, s := range factgen.Diff(c.Fact, g.Fact, 10) {
		d = append(d, "fact"+s)
	}
	if c.JSON != g.JSON {
		d = append(d, "fact JSON differs")
	}
	if !slices.Equal(c.Fired, g.Fired) {
		d = append(d, "fired rules differ")
	}
	if !slices.Equal(c.Tags, g.Tags) || !slices.Equal(c.Routes, g.Routes) || c.Dropped != g.Dropped {
		d = append(d, "Event actions differ")
	}
	if ck, gk := errKind(c.Err), errKind(g.Err); ck != gk {
		d = append(d, fmt.Sprintf("error %q != %q", ck, gk))
	}
	return d
}

// errKind is the part of an error both executors must agree on: nil or not,
// the MaxCycle text word for word, the failing rule's name.
func errKind(err error) string {
	var mc *rules.MaxCycleError
	var re *rules.RuleError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &mc):
		return mc.Error()
	case errors.As(err, &re):
		return "error in rule " + re.Rule
	}
	return "error"
}

func (o outcome) String() string {
	return fmt.Sprintf("%s fired=%q tags=%q routes=%q dropped=%v err=%v", o.JSON, o.Fired, o.Tags, o.Routes, o.Dropped, o.Err)
}

func eventAttrs(ev *rules.Event) string {
	return fmt.Sprintf("{ID:%s Type:%s Source:%q Subject:%q Time:%s TenantID:%q}", ev.ID, ev.Type, ev.Source, ev.Subject, ev.Time, ev.TenantID)
}

// minCoverageN is the run length from which a rule that never fired fails
// the test: the rarest example rule fires about twice per 1000 facts.
const minCoverageN = 5000

// report logs rule coverage and fails when a rule never fired or grule
// failed: the example knowledge bases must terminate on realistic facts, and
// a rule that never fires is not being compared.
func (o *oracle) report(t *testing.T, n int) {
	var b strings.Builder
	fmt.Fprintf(&b, "%d facts, %d compared with the compiled executor, %d rule firings, %d grule errors; rule coverage:", n, o.compared, o.cycles, o.errs)
	var never []string
	for _, r := range o.p.grule.Rules() {
		fmt.Fprintf(&b, "\n  %-24s %6d", r.Name, o.fired[r.Name])
		if o.fired[r.Name] == 0 {
			never = append(never, r.Name)
		}
	}
	t.Log(b.String())
	if o.errs > 0 {
		t.Errorf("grule failed on %d facts; first: %s", o.errs, o.firstErr)
	}
	switch {
	case len(never) > 0 && n >= minCoverageN:
		t.Errorf("rules never fired in %d facts (make the filler reach them or fix the rule): %s", n, strings.Join(never, ", "))
	case len(never) > 0:
		t.Logf("rules never fired in %d facts (not enforced below %d facts): %s", n, minCoverageN, strings.Join(never, ", "))
	}
}
