package emit

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// kbFiles emits <stem>.kb.go: the compiled knowledge base.
func kbFiles(kb *ir.KB, pkg string) ([]File, error) {
	g := newKBGen(kb)
	f := newFile(pkg, kb.Dir)
	g.genHeader(f)
	g.genExecute(f)
	for _, r := range kb.Rules {
		g.genWhen(f, r)
		g.genThen(f, r)
	}
	for _, re := range g.regexps {
		f.Line()
		// var ordersRE0 = regexp.MustCompile("^[A-Z]+$")
		f.Var().Id(re.name).Op("=").Qual("regexp", "MustCompile").Call(jen.Lit(re.pattern))
	}
	src, err := render(f)
	if err != nil {
		return nil, fmt.Errorf("%s.kb.go: %w", kb.FileStem, err)
	}
	return []File{{Path: kb.FileStem + ".kb.go", Content: src}}, nil
}

// kbGen holds the names used while emitting one knowledge base.
type kbGen struct {
	kb      *ir.KB
	prefix  string // unexported identifier prefix, e.g. "orders"
	typ     string // the KnowledgeBase implementation, e.g. "ordersKB"
	state   string // the per-execution state type, e.g. "ordersState"
	fact    string // the data fact's Go type, e.g. "OrderCreatedV1"
	idents  []string
	order   []*ir.Rule // rules by salience (desc), then declaration order
	regexps []regexpVar
}

type regexpVar struct{ name, pattern string }

func newKBGen(kb *ir.KB) *kbGen {
	p := lowerFirst(kb.GoName)
	g := &kbGen{kb: kb, prefix: p, typ: p + "KB", state: p + "State", fact: kb.Schema.GoName}
	seen := map[string]bool{}
	for _, r := range kb.Rules {
		id := ruleIdent(r.Name)
		for seen[id] {
			id += "_"
		}
		seen[id] = true
		g.idents = append(g.idents, id)
	}
	g.order = append([]*ir.Rule(nil), kb.Rules...)
	sort.SliceStable(g.order, func(i, j int) bool { return g.order[i].Salience > g.order[j].Salience })
	return g
}

func (g *kbGen) whenName(r *ir.Rule) string { return g.prefix + "When" + g.idents[r.Index] }
func (g *kbGen) thenName(r *ir.Rule) string { return g.prefix + "Then" + g.idents[r.Index] }

// genHeader emits the exported variable, the metadata methods and the
// state type.
func (g *kbGen) genHeader(f *jen.File) {
	kb := g.kb
	f.Commentf("%sKB is the compiled knowledge base %q (%s), bound to fact %s (%s).",
		kb.GoName, kb.Name, kb.Dir, kb.FactName, kb.Schema.ID)
	f.Comment("It reproduces grule v1.20.4's execution of the same GRL; see docs/grl-compat.md.")
	f.Var().Id(kb.GoName+"KB").Qual(RulesPkg, "KnowledgeBase").Op("=").Id(g.typ).Values()
	f.Line()
	f.Type().Id(g.typ).Struct()
	method := func(name string, ret jen.Code, val jen.Code) {
		f.Func().Params(jen.Id(g.typ)).Id(name).Params().Add(ret).Block(jen.Return(val))
	}
	f.Line()
	method("Name", jen.String(), jen.Lit(kb.Name))
	f.Line()
	method("Version", jen.String(), jen.Lit(kb.Version))
	f.Line()
	on := make([]jen.Code, len(kb.On))
	for i, t := range kb.On {
		on[i] = jen.Lit(t)
	}
	method("On", jen.Index().String(), jen.Index().String().Values(on...))
	f.Line()
	method("FactName", jen.String(), jen.Lit(kb.FactName))
	f.Line()
	method("SchemaID", jen.String(), jen.Lit(kb.Schema.ID))
	f.Line()
	method("MaxCycles", jen.Int(), jen.Lit(kb.MaxCycles))
	infos := make([]jen.Code, len(kb.Rules))
	for i, r := range kb.Rules {
		infos[i] = jen.Values(jen.Dict{
			jen.Id("Name"):        jen.Lit(r.Name),
			jen.Id("Description"): jen.Lit(r.Description),
			jen.Id("Salience"):    jen.Lit(r.Salience),
		})
	}
	f.Line()
	f.Comment("Rules lists the rules in declaration order.")
	method("Rules", jen.Index().Qual(RulesPkg, "RuleInfo"), jen.Index().Qual(RulesPkg, "RuleInfo").ValuesFunc(func(gr *jen.Group) {
		for _, c := range infos {
			gr.Line().Add(c)
		}
		gr.Line()
	}))
	f.Line()
	f.Comment("Sources are the GRL files the knowledge base was compiled from, so that")
	f.Comment("the same rules can run through grule, the reference semantics.")
	method("Sources", jen.Index().Qual(RulesPkg, "Source"), jen.Index().Qual(RulesPkg, "Source").ValuesFunc(func(gr *jen.Group) {
		for _, s := range kb.Sources {
			gr.Line().Values(jen.Dict{jen.Id("Path"): jen.Lit(s.Path), jen.Id("Text"): jen.Lit(s.Text)})
		}
		gr.Line()
	}))
	f.Line()
	f.Commentf("%s is the state of one execution; it lives on the stack.", g.state)
	// type ordersState struct {
	// 	retracted [3]bool // by declaration index
	// 	complete  bool
	// }
	f.Type().Id(g.state).Struct(
		jen.Id("retracted").Index(jen.Lit(len(kb.Rules))).Bool().Comment("by declaration index; Retract sets it"),
		jen.Id("complete").Bool().Comment("Complete() was called"),
	)
}

// genExecute emits Execute (grule's cycle), the matcher and the dispatcher.
func (g *kbGen) genExecute(f *jen.File) {
	kb := g.kb
	rules := func(name string) *jen.Statement { return jen.Qual(RulesPkg, name) }
	f.Line()
	f.Comment("Execute runs grule's cycle: evaluate the condition of every rule that is not")
	f.Comment("retracted, stop when none matches, fail past MaxCycles, fire the matching")
	f.Comment("rule of highest salience (ties: declaration order), stop after a then that")
	f.Comment("called Complete(). It uses no reflection and allocates nothing itself;")
	f.Comment("strings built by rules (concatenation, ToUpper, ...) and the growth of")
	f.Comment("x.Fired beyond its capacity do.")
	/*
		func (ordersKB) Execute(x *rules.Exec, fact rules.Fact) error {
			f, ok := fact.(*OrderCreatedV1)
			if !ok {
				return rules.WrongFact("orders", "com.acme.order.created/v1", fact)
			}
			var s ordersState
			for cycle := 1; ; cycle++ {
				r := ordersMatch(f, &x.Event, &s)
				if r < 0 {
					return nil
				}
				if cycle > 100 {
					return &rules.MaxCycleError{MaxCycles: 100}
				}
				if err := ordersFire(r, x, f, &s); err != nil {
					return err
				}
				if s.complete {
					return nil
				}
			}
		}
	*/
	f.Func().Params(jen.Id(g.typ)).Id("Execute").Params(jen.Id("x").Op("*").Add(rules("Exec")), jen.Id("fact").Add(rules("Fact"))).Error().Block(
		jen.List(jen.Id("f"), jen.Id("ok")).Op(":=").Id("fact").Assert(jen.Op("*").Id(g.fact)),
		jen.If(jen.Op("!").Id("ok")).Block(
			jen.Return(rules("WrongFact").Call(jen.Lit(kb.Name), jen.Lit(kb.Schema.ID), jen.Id("fact"))),
		),
		jen.Var().Id("s").Id(g.state),
		jen.For(jen.Id("cycle").Op(":=").Lit(1), jen.Empty(), jen.Id("cycle").Op("++")).Block(
			jen.Id("r").Op(":=").Id(g.prefix+"Match").Call(jen.Id("f"), jen.Op("&").Id("x").Dot("Event"), jen.Op("&").Id("s")),
			jen.If(jen.Id("r").Op("<").Lit(0)).Block(jen.Return(jen.Nil())),
			jen.If(jen.Id("cycle").Op(">").Lit(kb.MaxCycles)).Block(
				jen.Return(jen.Op("&").Add(rules("MaxCycleError")).Values(jen.Dict{jen.Id("MaxCycles"): jen.Lit(kb.MaxCycles)})),
			),
			jen.If(jen.Err().Op(":=").Id(g.prefix+"Fire").Call(jen.Id("r"), jen.Id("x"), jen.Id("f"), jen.Op("&").Id("s")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Err()),
			),
			jen.If(jen.Id("s").Dot("complete")).Block(jen.Return(jen.Nil())),
		),
	)

	f.Line()
	f.Commentf("%sMatch returns the declaration index of the rule to fire, or -1: the first", g.prefix)
	f.Comment("rule in salience order whose condition holds.")
	/*
		func ordersMatch(f *OrderCreatedV1, ev *rules.Event, s *ordersState) int {
			switch {
			case !s.retracted[2] && ordersWhenBig(f, ev): // salience 10
				return 2
			...
			}
			return -1
		}
	*/
	f.Func().Id(g.prefix+"Match").Params(jen.Id("f").Op("*").Id(g.fact), jen.Id("ev").Op("*").Add(rules("Event")), jen.Id("s").Op("*").Id(g.state)).Int().BlockFunc(func(b *jen.Group) {
		if len(g.order) > 0 {
			b.Switch().BlockFunc(func(sw *jen.Group) {
				for _, r := range g.order {
					sw.Case(jen.Op("!").Id("s").Dot("retracted").Index(jen.Lit(r.Index)).Op("&&").Id(g.whenName(r)).Call(jen.Id("f"), jen.Id("ev"))).
						Block(jen.Return(jen.Lit(r.Index))).Commentf("%s, salience %d", r.Name, r.Salience)
				}
			})
		}
		b.Return(jen.Lit(-1))
	})

	f.Line()
	f.Commentf("%sFire records rule r as fired and runs its then.", g.prefix)
	/*
		func ordersFire(r int, x *rules.Exec, f *OrderCreatedV1, s *ordersState) error {
			switch r {
			case 0:
				x.Fired = append(x.Fired, "Big")
				return ordersThenBig(f, &x.Event, s)
			}
			return nil
		}
	*/
	f.Func().Id(g.prefix+"Fire").Params(jen.Id("r").Int(), jen.Id("x").Op("*").Add(rules("Exec")), jen.Id("f").Op("*").Id(g.fact), jen.Id("s").Op("*").Id(g.state)).Error().BlockFunc(func(b *jen.Group) {
		if len(kb.Rules) > 0 {
			b.Switch(jen.Id("r")).BlockFunc(func(sw *jen.Group) {
				for _, r := range kb.Rules {
					sw.Case(jen.Lit(r.Index)).Block(
						jen.Id("x").Dot("Fired").Op("=").Append(jen.Id("x").Dot("Fired"), jen.Lit(r.Name)),
						jen.Return(jen.Id(g.thenName(r)).Call(jen.Id("f"), jen.Op("&").Id("x").Dot("Event"), jen.Id("s"))),
					)
				}
			})
		}
		b.Return(jen.Nil())
	})
}

// ruleComment puts the rule's GRL text above its functions.
func ruleComment(f *jen.File, head string, r *ir.Rule) {
	f.Comment(head)
	f.Comment("")
	for _, line := range strings.Split(strings.TrimRight(r.Text, "\n"), "\n") {
		f.Comment("\t" + strings.TrimRight(line, " \t\r"))
	}
}

// genWhen emits the condition function of a rule.
func (g *kbGen) genWhen(f *jen.File, r *ir.Rule) {
	f.Line()
	head := fmt.Sprintf("%s is the condition of rule %s (%s).", g.whenName(r), r.Name, r.Pos)
	if r.WhenMayPanic {
		head += " A run-time failure (e.g. index out of range) means no match, as in grule."
	}
	ruleComment(f, head, r)
	/*
		func ordersWhenBig(f *OrderCreatedV1, ev *rules.Event) (ok bool) {
			defer rules.RecoverWhen(&ok) // only when the condition can fail
			return f.Total > 1000.0
		}
	*/
	f.Func().Id(g.whenName(r)).Params(jen.Id("f").Op("*").Id(g.fact), jen.Id("ev").Op("*").Qual(RulesPkg, "Event")).
		Params(jen.Id("ok").Bool()).BlockFunc(func(b *jen.Group) {
		if r.WhenMayPanic {
			b.Defer().Qual(RulesPkg, "RecoverWhen").Call(jen.Op("&").Id("ok"))
		}
		b.Return(g.expr(r.When, 0))
	})
}

// genThen emits the action function of a rule.
func (g *kbGen) genThen(f *jen.File, r *ir.Rule) {
	f.Line()
	head := fmt.Sprintf("%s is the action of rule %s.", g.thenName(r), r.Name)
	if r.ThenMayPanic {
		head += " A run-time failure stops execution with a *rules.RuleError, as in grule."
	}
	ruleComment(f, head, r)
	/*
		func ordersThenBig(f *OrderCreatedV1, ev *rules.Event, s *ordersState) (err error) {
			defer rules.RecoverThen("Big", &err) // only when an action can fail
			f.Status = "review"
			ev.Tag("big")
			s.retracted[0] = true
			return nil
		}
	*/
	f.Func().Id(g.thenName(r)).Params(jen.Id("f").Op("*").Id(g.fact), jen.Id("ev").Op("*").Qual(RulesPkg, "Event"), jen.Id("s").Op("*").Id(g.state)).
		Params(jen.Err().Error()).BlockFunc(func(b *jen.Group) {
		if r.ThenMayPanic {
			b.Defer().Qual(RulesPkg, "RecoverThen").Call(jen.Lit(r.Name), jen.Op("&").Err())
		}
		for _, s := range r.Then {
			g.stmt(b, s)
		}
		b.Return(jen.Nil())
	})
}

// stmt emits one action.
func (g *kbGen) stmt(b *jen.Group, s *ir.Stmt) {
	switch s.Kind {
	case ir.StmtAssign:
		b.Add(g.expr(s.Target, 0)).Op("=").Add(g.expr(s.Value, 0))
	case ir.StmtCall:
		v := s.Value
		switch {
		case v.Op == ir.OpMethod && v.Func == ir.MSliceAppend:
			// f.Tags = append(f.Tags, "a")
			args := []jen.Code{g.expr(v.X, 0)}
			for _, a := range v.Args {
				args = append(args, g.expr(a, 0))
			}
			b.Add(g.expr(v.X, 0)).Op("=").Append(args...)
		case v.Type.Kind == ir.TVoid:
			b.Add(g.expr(v, 0))
		default:
			b.Id("_").Op("=").Add(g.expr(v, 0)).Commentf("%s: evaluated for its failure only, as grule does", oneLine(s.Text))
		}
	case ir.StmtRetract:
		r := g.kb.Rules[s.Rule]
		b.Id("s").Dot("retracted").Index(jen.Lit(r.Index)).Op("=").True().Commentf("Retract(%q)", r.Name)
	case ir.StmtComplete:
		b.Id("s").Dot("complete").Op("=").True().Comment("Complete(): the cycle stops after this then")
	case ir.StmtNop:
		b.Commentf("%s: nothing to do in compiled code (see docs/grl-compat.md)", oneLine(s.Text))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// lowerFirst makes an unexported identifier of an exported one.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// ruleIdent turns a rule name into a Go identifier fragment: ASCII letters,
// digits and underscores are kept, anything else becomes '_'.
func ruleIdent(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9':
			if i == 0 && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
