package engine

import (
	"sort"
	"strings"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// RuleSet is an immutable set of knowledge bases indexed by the schema
// they bind, with the processed-event attributes that name them computed
// once.
type RuleSet struct {
	bundle string
	all    []rules.KnowledgeBase
	bySch  map[string]*boundKBs // schema ID → knowledge bases
}

// boundKBs are the knowledge bases one schema triggers, in name order.
type boundKBs struct {
	kbs []rules.KnowledgeBase
	// versions is the erkb attribute: "name@version,…".
	versions string
}

// NewRuleSet indexes kbs. bundle names the set in the erbundle attribute
// (the registry's bundle hash for compiled rules, a content hash for
// interpreted ones). A knowledge base runs on events whose type it lists in
// On and whose schema version it binds, as rules.Registry.For does.
func NewRuleSet(bundle string, kbs []rules.KnowledgeBase) *RuleSet {
	sorted := append([]rules.KnowledgeBase(nil), kbs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name() < sorted[j].Name() })
	rs := &RuleSet{bundle: bundle, all: sorted, bySch: map[string]*boundKBs{}}
	for _, kb := range sorted {
		id := kb.SchemaID()
		typ := id
		if i := strings.LastIndex(id, "/v"); i >= 0 {
			typ = id[:i]
		}
		listed := false
		for _, t := range kb.On() {
			listed = listed || t == typ
		}
		if !listed {
			continue
		}
		b := rs.bySch[id]
		if b == nil {
			b = &boundKBs{}
			rs.bySch[id] = b
		}
		b.kbs = append(b.kbs, kb)
		if b.versions != "" {
			b.versions += ","
		}
		b.versions += kb.Name() + "@" + kb.Version()
	}
	return rs
}

// RuleSetOf is the compiled knowledge bases of a registry.
func RuleSetOf(reg *rules.Registry) *RuleSet {
	return NewRuleSet(reg.BundleHash, reg.KnowledgeBases())
}

// Bundle names the set (the erbundle attribute).
func (rs *RuleSet) Bundle() string { return rs.bundle }

// KnowledgeBases lists the set in name order.
func (rs *RuleSet) KnowledgeBases() []rules.KnowledgeBase { return rs.all }

// For returns the knowledge bases an event of schema s triggers, in name
// order.
func (rs *RuleSet) For(s *rules.Schema) []rules.KnowledgeBase {
	if b := rs.bySch[s.ID]; b != nil {
		return b.kbs
	}
	return nil
}

func (rs *RuleSet) bound(s *rules.Schema) *boundKBs {
	if b := rs.bySch[s.ID]; b != nil {
		return b
	}
	return &noKBs
}

var noKBs boundKBs
