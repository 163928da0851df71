package rulediff

import (
	"sort"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Pair is one knowledge base on both sides. Base or Working is nil where the
// knowledge base does not exist (added or removed by the change); a side
// that exists but did not load has its reason in BaseErr or WorkingErr, and
// the pair is reported as not comparable.
type Pair struct {
	Name                string
	Base, Working       rules.KnowledgeBase
	BaseErr, WorkingErr error
}

// Differ replays events through every Pair and accumulates the Report. It
// is not safe for concurrent use.
type Differ struct {
	runner  *Runner
	pairs   []Pair
	kbs     []*KBReport
	rules   []map[string]*RuleChange // per pair, by rule name
	samples int
	events  int
	changed int // events that changed in at least one knowledge base
	unbound int
}

// New returns a Differ over pairs (reported in name order) whose facts come
// from reg; it keeps up to samples field-level diffs per knowledge base.
func New(reg *rules.Registry, pairs []Pair, samples int) *Differ {
	pairs = append([]Pair(nil), pairs...)
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Name < pairs[j].Name })
	d := &Differ{runner: NewRunner(reg), pairs: pairs, samples: samples}
	for _, p := range pairs {
		k := &KBReport{Name: p.Name}
		if p.Base != nil {
			k.BaseVersion = p.Base.Version()
		}
		if p.Working != nil {
			k.WorkingVersion = p.Working.Version()
		}
		switch {
		case p.BaseErr != nil:
			k.NotComparable = "base: " + p.BaseErr.Error()
		case p.WorkingErr != nil:
			k.NotComparable = "working tree: " + p.WorkingErr.Error()
		}
		d.kbs = append(d.kbs, k)
		d.rules = append(d.rules, map[string]*RuleChange{})
	}
	return d
}

// Add replays one event through every comparable pair.
func (d *Differ) Add(ev *cloudevents.Event) {
	d.events++
	bound, changed := false, false
	for i, p := range d.pairs {
		k := d.kbs[i]
		if k.NotComparable != "" {
			continue
		}
		base := d.runner.Outcome(p.Base, ev)
		working := d.runner.Outcome(p.Working, ev)
		if !base.Ran && !working.Ran {
			continue
		}
		bound = true
		k.Events++
		if base.Equal(&working) {
			continue
		}
		k.Changed++
		changed = true
		countRules(d.rules[i], base.Fired, working.Fired)
		if len(k.Samples) < d.samples {
			k.Samples = append(k.Samples, Sample{Tenant: ev.TenantID, Source: ev.Source, ID: ev.ID, Diffs: Diffs(&base, &working)})
		}
	}
	if !bound {
		d.unbound++
	}
	if changed {
		d.changed++
	}
}

// Changed counts the events so far that changed in at least one knowledge
// base (an event two knowledge bases run on counts once).
func (d *Differ) Changed() int { return d.changed }

// countRules records how each rule's firings differ in one event.
func countRules(m map[string]*RuleChange, base, working []string) {
	nb, nw := tally(base), tally(working)
	for name := range union(nb, nw) {
		b, w := nb[name], nw[name]
		if b == w {
			continue
		}
		c := m[name]
		if c == nil {
			c = &RuleChange{Rule: name}
			m[name] = c
		}
		switch {
		case w == 0:
			c.BaseOnly++
		case b == 0:
			c.WorkingOnly++
		default:
			c.CountChanged++
		}
	}
}

func tally(fired []string) map[string]int {
	m := make(map[string]int, len(fired))
	for _, f := range fired {
		m[f]++
	}
	return m
}

func union(a, b map[string]int) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// Report returns what was replayed so far.
func (d *Differ) Report() *Report {
	r := &Report{Events: d.events, Changed: d.changed, Unbound: d.unbound}
	for i, k := range d.kbs {
		k.Rules = k.Rules[:0]
		for _, c := range d.rules[i] {
			k.Rules = append(k.Rules, *c)
		}
		sort.Slice(k.Rules, func(a, b int) bool { return k.Rules[a].Rule < k.Rules[b].Rule })
		if k.Rules == nil {
			k.Rules = []RuleChange{}
		}
		if k.Samples == nil {
			k.Samples = []Sample{}
		}
		r.KBs = append(r.KBs, k)
	}
	return r
}
