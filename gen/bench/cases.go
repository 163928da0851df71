package bench

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/hyperjumptech/grule-rule-engine/ast"
	"github.com/hyperjumptech/grule-rule-engine/builder"
	"github.com/hyperjumptech/grule-rule-engine/engine"
	"github.com/hyperjumptech/grule-rule-engine/pkg"

	"github.com/eventrunner/eventrunner/gen/bench/kbgen"
	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Case is one row of the table: our code and its baseline doing the same
// work, each as a benchmark function.
type Case struct {
	Name     string
	Ours     func(b *testing.B)
	Baseline func(b *testing.B)
	// Check verifies once, before timing, that both sides agree.
	Check func() error
}

// Sizes are the knowledge-base sizes of the rule rows.
var Sizes = []int{10, 100, 1000}

// Loads are the fact shapes: how many rules a fact makes fire.
var Loads = []struct {
	Name  string
	Fires func(n int) int
}{
	{"none", func(int) int { return 0 }},
	{"some", func(n int) int { return max(1, n/20) }},
	{"many", func(n int) int { return n / 2 }},
}

// Cases lists every row: rules at each size and load, then codecs, then
// the CloudEvents readers against sdk-go.
func Cases() []Case {
	var cs []Case
	for _, n := range Sizes {
		kb, ok := kbgen.Registry().KnowledgeBase(fmt.Sprintf("bench%d", n))
		if !ok {
			panic(fmt.Sprintf("bench: knowledge base bench%d missing; run go generate ./gen/bench", n))
		}
		g := newGrule(kb)
		for _, l := range Loads {
			cs = append(cs, ruleCase(kb, g, l.Name, l.Fires(n)))
		}
	}
	cs = append(cs, codecCases()...)
	return append(cs, cloudEventCases()...)
}

func ruleCase(kb rules.KnowledgeBase, g *gruleKB, load string, fires int) Case {
	n := len(kb.Rules())
	initial := kbgen.BenchSampleV1{Level: int64(fires), Amount: 1e6, Count: 3, Code: "bench", Label: "start"}
	return Case{
		Name: fmt.Sprintf("rules/%d/%s (%d fire)", n, load, fires),
		Ours: func(b *testing.B) {
			var x rules.Exec
			var f kbgen.BenchSampleV1
			b.ReportAllocs()
			for b.Loop() {
				f = initial
				x.Reset()
				if err := kb.Execute(&x, &f); err != nil {
					b.Fatal(err)
				}
			}
		},
		Baseline: func(b *testing.B) {
			var f kbgen.BenchSampleV1
			b.ReportAllocs()
			for b.Loop() {
				f = initial
				if err := g.run(&f); err != nil {
					b.Fatal(err)
				}
			}
		},
		Check: func() error {
			var x rules.Exec
			ours, theirs := initial, initial
			if err := kb.Execute(&x, &ours); err != nil {
				return err
			}
			if err := g.run(&theirs); err != nil {
				return err
			}
			if !reflect.DeepEqual(ours, theirs) || int(ours.Hits) != fires || len(x.Fired) != fires {
				return fmt.Errorf("bench%d: compiled %+v (%d fired) != grule %+v, want %d firings", n, ours, len(x.Fired), theirs, fires)
			}
			return nil
		},
	}
}

// gruleKB is the baseline: grule with one knowledge-base instance reused for
// every execution, as a tuned grule deployment would run it.
type gruleKB struct {
	kb     *ast.KnowledgeBase
	engine *engine.GruleEngine
}

func newGrule(kb rules.KnowledgeBase) *gruleKB {
	lib := ast.NewKnowledgeLibrary()
	rb := builder.NewRuleBuilder(lib)
	for _, src := range kb.Sources() {
		if err := rb.BuildRuleFromResource(kb.Name(), kb.Version(), pkg.NewBytesResource([]byte(src.Text))); err != nil {
			panic(fmt.Sprintf("bench: grule cannot build %s: %v", src.Path, err))
		}
	}
	inst, err := lib.NewKnowledgeBaseInstance(kb.Name(), kb.Version())
	if err != nil {
		panic(err)
	}
	e := engine.NewGruleEngine()
	e.MaxCycle = uint64(kb.MaxCycles())
	return &gruleKB{kb: inst, engine: e}
}

func (g *gruleKB) run(fact any) error {
	dc := ast.NewDataContext()
	if err := dc.Add("Sample", fact); err != nil {
		return err
	}
	return g.engine.Execute(dc, g.kb)
}

// orderJSON is a realistic ~1 KB order event's data.
var orderJSON = []byte(`{"orderId":"7f1c2a9e-4b1d-4c8e-9a57-2f5e8d3b6c01","customer":{"id":"cust-000123","email":"ada.lovelace@example.com","tier":"gold","country":"GB","orderCount":42},"items":[{"sku":"BOOK-0001","name":"The Analytical Engine, annotated edition","quantity":2,"unitPrice":24.5,"category":"books"},{"sku":"ELEC-7781","name":"USB-C charger 65W","quantity":1,"unitPrice":39.99,"category":"electronics"},{"sku":"TOYS-0420","name":"Difference engine model kit","quantity":1,"unitPrice":59,"category":"toys"},{"sku":"GROC-1100","name":"Earl Grey tea, 250 g","quantity":3,"unitPrice":6.75,"category":"grocery"}],"currency":"GBP","total":168.24,"discount":0,"status":"pending","priority":3,"riskScore":0.12,"channel":"web","coupon":"WELCOME10","giftWrap":true,"notes":"Leave at the porter's lodge; ring twice.","createdAt":"2026-11-28T09:15:00Z","shippingAddress":{"line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"}}`)

func codecCases() []Case {
	return []Case{
		{
			Name: fmt.Sprintf("decode order (%d B)", len(orderJSON)),
			Ours: func(b *testing.B) {
				var f generated.OrderCreatedV1
				var v rules.Violations
				b.SetBytes(int64(len(orderJSON)))
				b.ReportAllocs()
				for b.Loop() {
					v.Reset()
					if err := f.DecodeJSON(orderJSON, &v); err != nil || v.Len() > 0 {
						b.Fatal(err, v.List)
					}
				}
			},
			Baseline: func(b *testing.B) {
				var f generated.OrderCreatedV1
				b.SetBytes(int64(len(orderJSON)))
				b.ReportAllocs()
				for b.Loop() {
					f = generated.OrderCreatedV1{}
					if err := json.Unmarshal(orderJSON, &f); err != nil {
						b.Fatal(err)
					}
				}
			},
			Check: func() error {
				var ours, theirs generated.OrderCreatedV1
				var v rules.Violations
				if err := ours.DecodeJSON(orderJSON, &v); err != nil || v.Len() > 0 {
					return fmt.Errorf("decode: %v %v", err, v.List)
				}
				if err := json.Unmarshal(orderJSON, &theirs); err != nil {
					return err
				}
				a, _ := json.Marshal(ours)
				c, _ := json.Marshal(theirs)
				if string(a) != string(c) {
					return fmt.Errorf("decoders disagree:\n%s\n%s", a, c)
				}
				return nil
			},
		},
		{
			Name: "encode order",
			Ours: func(b *testing.B) {
				var f generated.OrderCreatedV1
				_ = json.Unmarshal(orderJSON, &f)
				buf := make([]byte, 0, 2048)
				b.ReportAllocs()
				for b.Loop() {
					buf = f.AppendJSON(buf[:0])
				}
			},
			Baseline: func(b *testing.B) {
				var f generated.OrderCreatedV1
				_ = json.Unmarshal(orderJSON, &f)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := json.Marshal(&f); err != nil {
						b.Fatal(err)
					}
				}
			},
			Check: func() error {
				var f generated.OrderCreatedV1
				if err := json.Unmarshal(orderJSON, &f); err != nil {
					return err
				}
				want, _ := json.Marshal(&f)
				if got := f.AppendJSON(nil); string(got) != string(want) {
					return fmt.Errorf("encoders disagree:\n%s\n%s", got, want)
				}
				return nil
			},
		},
	}
}
