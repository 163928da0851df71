package interp

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hyperjumptech/grule-rule-engine/ast"
	"github.com/hyperjumptech/grule-rule-engine/builder"
	"github.com/hyperjumptech/grule-rule-engine/pkg"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// EventFact is the GRL name of the built-in CloudEvent fact.
const EventFact = "Event"

// libVersion is the version of every knowledge base in its own grule
// library: a KB's library holds only that KB, and kb.yaml's version may be
// empty.
const libVersion = "1"

// Spec describes a knowledge base to interpret: the metadata a compiled
// knowledge base carries (kb.yaml) plus its GRL sources.
type Spec struct {
	Name    string
	Version string
	On      []string
	// FactName is the GRL name of the data fact, e.g. "Order".
	FactName string
	// SchemaID is the schema version of the data fact, e.g.
	// "com.acme.order.created/v1".
	SchemaID string
	// MaxCycles is grule's cycle limit; 0 means rules.DefaultMaxCycles.
	MaxCycles int
	// Sources are the GRL files, in path order.
	Sources []rules.Source
}

// KB is a knowledge base interpreted by grule. It implements
// rules.KnowledgeBase and is safe for concurrent use: every Execute takes a
// grule knowledge-base instance of its own from a free list.
type KB struct {
	spec  Spec
	rules []rules.RuleInfo

	// mu guards lib (cloning the blueprint is not documented as safe for
	// concurrent use) and free.
	mu   sync.Mutex
	lib  *ast.KnowledgeLibrary
	free []*instance
}

var _ rules.KnowledgeBase = (*KB)(nil)

// New parses the GRL sources with grule and prepares the knowledge base. GRL
// syntax errors are returned with the source path and grule's line:col.
func New(spec Spec) (*KB, error) {
	if spec.Name == "" || spec.FactName == "" || spec.SchemaID == "" {
		return nil, fmt.Errorf("interp: knowledge base %q: name, fact name and schema ID are required", spec.Name)
	}
	if spec.FactName == EventFact {
		return nil, fmt.Errorf("interp: knowledge base %s: fact name %q is reserved", spec.Name, EventFact)
	}
	if spec.MaxCycles <= 0 {
		spec.MaxCycles = rules.DefaultMaxCycles
	}
	spec.On = append([]string(nil), spec.On...)
	spec.Sources = append([]rules.Source(nil), spec.Sources...)

	lib := ast.NewKnowledgeLibrary()
	b := builder.NewRuleBuilder(lib)
	for _, src := range spec.Sources {
		res := pkg.NewBytesResource([]byte(src.Text))
		if err := b.BuildRuleFromResource(spec.Name, libVersion, res); err != nil {
			return nil, fmt.Errorf("interp: knowledge base %s: %s: %w", spec.Name, src.Path, grlError(err))
		}
	}
	infos, err := ruleInfos(spec.Sources, lib.GetKnowledgeBase(spec.Name, libVersion))
	if err != nil {
		return nil, fmt.Errorf("interp: knowledge base %s: %w", spec.Name, err)
	}
	kb := &KB{spec: spec, rules: infos, lib: lib}
	// Build one instance now: it proves the blueprint clones, and the first
	// event does not pay for it.
	in, err := kb.get()
	if err != nil {
		return nil, err
	}
	kb.put(in)
	return kb, nil
}

// FromCompiled builds the interpreted twin of a compiled knowledge base from
// its metadata and GRL sources.
func FromCompiled(kb rules.KnowledgeBase) (*KB, error) {
	return New(Spec{
		Name:      kb.Name(),
		Version:   kb.Version(),
		On:        kb.On(),
		FactName:  kb.FactName(),
		SchemaID:  kb.SchemaID(),
		MaxCycles: kb.MaxCycles(),
		Sources:   kb.Sources(),
	})
}

// grlError replaces grule's "got N error(s)" summary with the errors
// themselves.
func grlError(err error) error {
	var rep *pkg.GruleErrorReporter
	if errors.As(err, &rep) && len(rep.Errors) > 0 {
		return errors.Join(rep.Errors...)
	}
	return err
}

// ruleInfos lists the rules in declaration order (sources in order, rules in
// source order): grule keeps them in a map.
func ruleInfos(srcs []rules.Source, blueprint *ast.KnowledgeBase) ([]rules.RuleInfo, error) {
	var infos []rules.RuleInfo
	for _, src := range srcs {
		for _, name := range ruleNames(src.Text) {
			e, ok := blueprint.RuleEntries[name]
			if !ok {
				return nil, fmt.Errorf("%s: rule %s not found in grule's knowledge base", src.Path, name)
			}
			infos = append(infos, rules.RuleInfo{Name: e.RuleName, Description: e.RuleDescription, Salience: e.Salience})
		}
	}
	if len(infos) != len(blueprint.RuleEntries) {
		return nil, fmt.Errorf("found %d rule declarations but grule built %d rules (duplicate rule names?)", len(infos), len(blueprint.RuleEntries))
	}
	return infos, nil
}

// Name implements rules.KnowledgeBase.
func (kb *KB) Name() string { return kb.spec.Name }

// Version implements rules.KnowledgeBase.
func (kb *KB) Version() string { return kb.spec.Version }

// On implements rules.KnowledgeBase.
func (kb *KB) On() []string { return kb.spec.On }

// FactName implements rules.KnowledgeBase.
func (kb *KB) FactName() string { return kb.spec.FactName }

// SchemaID implements rules.KnowledgeBase.
func (kb *KB) SchemaID() string { return kb.spec.SchemaID }

// Rules implements rules.KnowledgeBase: the rules in declaration order.
func (kb *KB) Rules() []rules.RuleInfo { return kb.rules }

// MaxCycles implements rules.KnowledgeBase.
func (kb *KB) MaxCycles() int { return kb.spec.MaxCycles }

// Sources implements rules.KnowledgeBase.
func (kb *KB) Sources() []rules.Source { return kb.spec.Sources }

// String names the knowledge base for logs and test failures.
func (kb *KB) String() string {
	return fmt.Sprintf("%s@%s (%s %s, %d rules, interpreted)", kb.spec.Name, kb.spec.Version, kb.spec.FactName, kb.spec.SchemaID, len(kb.rules))
}

// Execute runs grule over fact (bound under FactName) and x.Event (bound as
// "Event"), appending fired rule names to x.Fired. Errors are grule's, word
// for word, typed where the runtime needs to tell them apart: exceeding
// MaxCycles is a *rules.MaxCycleError and a failing `then` a
// *rules.RuleError.
func (kb *KB) Execute(x *rules.Exec, fact rules.Fact) error {
	if fact == nil {
		return fmt.Errorf("interp: knowledge base %s: nil fact", kb.spec.Name)
	}
	if id := fact.SchemaID(); id != kb.spec.SchemaID {
		return fmt.Errorf("interp: knowledge base %s binds %s, got a fact of %s", kb.spec.Name, kb.spec.SchemaID, id)
	}
	in, err := kb.get()
	if err != nil {
		return err
	}
	defer kb.put(in)
	return in.run(x, kb.spec.FactName, fact)
}

// get takes an idle instance or builds one.
func (kb *KB) get() (*instance, error) {
	kb.mu.Lock()
	defer kb.mu.Unlock()
	if n := len(kb.free); n > 0 {
		in := kb.free[n-1]
		kb.free = kb.free[:n-1]
		return in, nil
	}
	gkb, err := kb.lib.NewKnowledgeBaseInstance(kb.spec.Name, libVersion)
	if err != nil {
		return nil, fmt.Errorf("interp: knowledge base %s: new grule instance: %w", kb.spec.Name, err)
	}
	return newInstance(gkb, kb.spec.MaxCycles), nil
}

// put returns an instance to the free list. The list grows to the highest
// number of concurrent executions and is never trimmed: unlike a sync.Pool it
// does not drop instances at GC, which would cost a rebuild each time.
func (kb *KB) put(in *instance) {
	kb.mu.Lock()
	kb.free = append(kb.free, in)
	kb.mu.Unlock()
}

// maxCycleText is grule's MaxCycle error text for n cycles.
func maxCycleText(n int) string { return (&rules.MaxCycleError{MaxCycles: n}).Error() }

// typedError maps grule's errors to the rules package's types without
// changing their text.
func typedError(err error, maxCycles int, lastRule string) error {
	if err == nil {
		return nil
	}
	if err.Error() == maxCycleText(maxCycles) {
		return &rules.MaxCycleError{MaxCycles: maxCycles}
	}
	prefix := "error while executing rule " + lastRule + ". got "
	if lastRule != "" && strings.HasPrefix(err.Error(), prefix) {
		if inner := errors.Unwrap(err); inner != nil {
			re := &rules.RuleError{Rule: lastRule, Err: inner}
			if re.Error() == err.Error() {
				return re
			}
		}
	}
	return err
}
