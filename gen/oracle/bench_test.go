package oracle_test

import (
	"math/rand/v2"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// BenchmarkKB measures each example knowledge base, compiled and under
// grule, over the same 1024 random facts (the oracle's, seed 1): the price
// of the reference semantics. Restoring the fact before each iteration is
// not timed.
func BenchmarkKB(b *testing.B) {
	reg := generated.Registry()
	for _, c := range reg.KnowledgeBases() {
		g, err := interp.FromCompiled(c)
		if err != nil {
			b.Fatal(err)
		}
		t := &testing.T{}
		o := newOracle(t, reg, pair{name: c.Name(), compiled: c, grule: g}, 1)
		facts := make([]rules.Fact, 1024)
		events := make([]rules.Event, len(facts))
		for i := range facts {
			r := rand.New(rand.NewPCG(1, uint64(i)))
			facts[i] = o.schema.New()
			if err := o.filler.Fill(r, facts[i]); err != nil {
				b.Fatal(err)
			}
			o.filler.Event(r, &events[i], c.On())
		}
		work := o.schema.New()
		for _, kb := range []struct {
			name string
			kb   rules.KnowledgeBase
		}{{"compiled", c}, {"grule", g}} {
			b.Run(c.Name()+"/"+kb.name, func(b *testing.B) {
				var x rules.Exec
				b.ReportAllocs()
				for i := range b.N {
					j := i % len(facts)
					b.StopTimer()
					copyFact(work, facts[j])
					x.Reset()
					x.Event = events[j]
					b.StartTimer()
					_ = kb.kb.Execute(&x, work)
				}
			})
		}
	}
}

// copyFact copies src into dst through the generated codec, reusing dst's
// slices (the engine decodes each event into a pooled fact the same way).
func copyFact(dst, src rules.Fact) {
	var v rules.Violations
	buf := src.AppendJSON(make([]byte, 0, 1024))
	_ = dst.DecodeJSON(buf, &v)
}
