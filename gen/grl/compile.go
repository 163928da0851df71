package grl

import (
	"math"
	"sort"
	"strconv"

	"github.com/hyperjumptech/grule-rule-engine/antlr/parser/grulev3"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// Compile parses and type-checks the GRL files of kb (whose header fields
// are already set) and returns its rules in declaration order.
func Compile(kb *ir.KB, files []*diag.File, l *diag.List) []*ir.Rule {
	var parsed []parsedRule
	for _, f := range files {
		parsed = append(parsed, parseFile(f, l)...)
	}
	c := &checker{kb: kb, l: l, names: map[string]int{}}
	if kb.Schema != nil {
		c.fact = &ir.ValueType{Kind: ir.TObject, Object: kb.Schema.Root}
	}
	// Names first: Retract may name a rule declared further down.
	var rules []*ir.Rule
	for _, p := range parsed {
		r := c.header(p)
		if r == nil {
			continue
		}
		if prev, dup := c.names[r.Name]; dup {
			l.Errorf(r.Pos, "duplicate rule name %q", r.Name).WithHint("first declared at " + rules[prev].Pos.String())
			continue
		}
		r.Index = len(rules)
		c.names[r.Name] = r.Index
		rules = append(rules, r)
		c.parsed = append(c.parsed, p)
	}
	for i, r := range rules {
		c.body(r, c.parsed[i])
	}
	warnEqualSalience(rules, l)
	return rules
}

// header reads a rule's name, description, salience and text.
func (c *checker) header(p parsedRule) *ir.Rule {
	re := p.ctx
	if re.RuleName() == nil || re.WhenScope() == nil || re.ThenScope() == nil {
		return nil
	}
	r := &ir.Rule{
		Name: re.RuleName().GetText(),
		Pos:  ctxPos(p.file, re.RuleName()),
		Text: srcText(p.file, re),
	}
	if d := re.RuleDescription(); d != nil {
		t := d.GetText()
		r.Description = t[1 : len(t)-1] // grule keeps the description raw
	}
	if s := re.Salience(); s != nil && s.IntegerLiteral() != nil {
		v, ok := c.intLiteral(p.file, s.IntegerLiteral())
		if ok && (v < math.MinInt32 || v > math.MaxInt32) {
			c.l.Errorf(ctxPos(p.file, s.IntegerLiteral()), "salience %d is out of range", v).WithHint("grule accepts saliences that fit in int32")
		}
		r.Salience = int(v)
	}
	return r
}

// body type-checks a rule's when and then.
func (c *checker) body(r *ir.Rule, p parsedRule) {
	c.file = p.file
	c.rule = r
	c.panics = false
	w := p.ctx.WhenScope().Expression()
	if w == nil {
		return
	}
	r.When = c.expr(w)
	r.WhenMayPanic = c.panics
	if r.When != nil && r.When.Type.Kind != ir.TBool {
		c.l.Errorf(r.When.Pos, "rule %s: when must be a bool expression, got %s", r.Name, r.When.Type).WithHint("grule refuses to run a rule whose condition is not boolean")
	}
	c.panics = false
	list := p.ctx.ThenScope().ThenExpressionList()
	if list == nil {
		return
	}
	for _, te := range list.AllThenExpression() {
		if s := c.stmt(te); s != nil {
			r.Then = append(r.Then, s)
		}
	}
	r.ThenMayPanic = c.panics
}

// warnEqualSalience warns about rules that share a salience: grule picks
// among equal-salience matches in random map order, compiled code in
// declaration order.
func warnEqualSalience(rules []*ir.Rule, l *diag.List) {
	first := map[int]*ir.Rule{}
	for _, r := range rules {
		if f := first[r.Salience]; f != nil {
			l.Warnf(r.Pos, "rule %s has the same salience (%d) as rule %s", r.Name, r.Salience, f.Name).
				WithHint("when both match, grule picks one at random; compiled code picks the one declared first. Give them different saliences if both can match")
			continue
		}
		first[r.Salience] = r
	}
}

// checker holds the state of type-checking one knowledge base.
type checker struct {
	kb     *ir.KB
	l      *diag.List
	fact   *ir.ValueType
	names  map[string]int // rule name → declaration index
	parsed []parsedRule
	// current rule
	file   *diag.File
	rule   *ir.Rule
	panics bool // the scope being checked can fail at run time
}

// stmt checks one then-expression.
func (c *checker) stmt(te grulev3.IThenExpressionContext) *ir.Stmt {
	text := srcText(c.file, te)
	pos := ctxPos(c.file, te)
	if a := te.Assignment(); a != nil {
		return c.assign(a, text, pos)
	}
	atom := te.ExpressionAtom()
	if atom == nil {
		return nil
	}
	// Retract, Complete and the no-op built-ins are statements.
	if fc := atom.FunctionCall(); fc != nil && atom.ExpressionAtom() == nil {
		if s, handled := c.stmtCall(fc, text, pos); handled {
			return s
		}
	}
	e := c.atom(atom)
	if e == nil {
		return nil
	}
	return &ir.Stmt{Kind: ir.StmtCall, Value: e, Text: text, Pos: pos}
}

// stmtCall handles the built-ins that only make sense as statements.
func (c *checker) stmtCall(fc grulev3.IFunctionCallContext, text string, pos diag.Pos) (*ir.Stmt, bool) {
	name := fc.SIMPLENAME().GetText()
	args := c.args(fc)
	switch name {
	case "Retract":
		if !c.arity(name, args, 1, pos) || args[0] == nil {
			return nil, true
		}
		lit, ok := args[0].Const.(string)
		if args[0].Op != ir.OpConst || !ok {
			c.l.Errorf(args[0].Pos, "Retract needs a string literal naming a rule, got %s", args[0].Text).WithHint(`write Retract("RuleName")`)
			return nil, true
		}
		idx, found := c.names[lit]
		if !found {
			c.l.Errorf(args[0].Pos, "Retract: unknown rule %q", lit).WithHint(didYouMean(lit, c.ruleNames(), "rule names are case-sensitive"))
			return nil, true
		}
		return &ir.Stmt{Kind: ir.StmtRetract, Rule: idx, Text: text, Pos: pos}, true
	case "Complete":
		if !c.arity(name, args, 0, pos) {
			return nil, true
		}
		return &ir.Stmt{Kind: ir.StmtComplete, Text: text, Pos: pos}, true
	case "Changed", "Forget", "Log":
		// Changed/Forget reset grule's memo, which compiled code does not
		// have; Log writes to grule's logger, which compiled code does not.
		if c.arity(name, args, 1, pos) && args[0] != nil && args[0].Type.Kind != ir.TString {
			c.l.Errorf(args[0].Pos, "%s needs a string argument, got %s", name, args[0].Type)
		}
		return &ir.Stmt{Kind: ir.StmtNop, Text: text, Pos: pos}, true
	case "LogFormat":
		if c.arity(name, args, 2, pos) && args[0] != nil && args[0].Type.Kind != ir.TString {
			c.l.Errorf(args[0].Pos, "LogFormat needs a string format, got %s", args[0].Type)
		}
		return &ir.Stmt{Kind: ir.StmtNop, Text: text, Pos: pos}, true
	}
	return nil, false
}

func (c *checker) ruleNames() []string {
	out := make([]string, 0, len(c.names))
	for n := range c.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// assign checks `target op= value` and converts value to the target's type
// as grule's reflection does.
func (c *checker) assign(a grulev3.IAssignmentContext, text string, pos diag.Pos) *ir.Stmt {
	if a.Variable() == nil || a.Expression() == nil {
		return nil
	}
	target := c.variable(a.Variable())
	value := c.expr(a.Expression())
	if target == nil || value == nil {
		return nil
	}
	if !c.assignable(target) {
		return nil
	}
	var op ir.Op
	switch {
	case a.PLUS_ASIGN() != nil:
		op = ir.OpAdd
	case a.MINUS_ASIGN() != nil:
		op = ir.OpSub
	case a.MUL_ASIGN() != nil:
		op = ir.OpMul
	case a.DIV_ASIGN() != nil:
		op = ir.OpDiv
	}
	if op != ir.OpInvalid {
		value = c.binary(op, target, value, pos, text)
		if value == nil {
			return nil
		}
	}
	v := c.convertFor(target.Type, value, pos)
	if v == nil {
		return nil
	}
	return &ir.Stmt{Kind: ir.StmtAssign, Target: target, Value: v, Text: text, Pos: pos}
}

// assignable refuses targets grule could not (or must not) set.
func (c *checker) assignable(t *ir.Expr) bool {
	root := t
	for root.X != nil {
		root = root.X
	}
	switch {
	case root.Op == ir.OpEvent && t.Op == ir.OpEvent:
		c.l.Errorf(t.Pos, "can not assign to the Event fact").WithHint("Event is built in; use Event.Tag, Event.Route or Event.Drop")
		return false
	case root.Op == ir.OpEvent:
		c.l.Errorf(t.Pos, "Event.%s is read-only", t.Name).WithHint("CloudEvent attributes can be read, not changed; use Event.Tag, Event.Route or Event.Drop")
		return false
	case t.Op == ir.OpFact:
		c.l.Errorf(t.Pos, "can not assign to the fact %s itself", t.Name).WithHint("assign to one of its fields, e.g. " + t.Name + ".<Field> = ...")
		return false
	}
	return true
}

// convertFor converts v for storing into a value of type t, the way
// grule's SetNumberValue / reflect.Set do, or reports why it can not.
func (c *checker) convertFor(t *ir.ValueType, v *ir.Expr, pos diag.Pos) *ir.Expr {
	switch {
	case t.Kind == ir.TInt && v.Type.Kind == ir.TFloat:
		return c.fold(&ir.Expr{Op: ir.OpTruncInt, Type: ir.IntType, X: v, Pos: v.Pos})
	case t.Kind == ir.TFloat && v.Type.Kind == ir.TInt:
		return toFloat(c, v)
	case t.Same(v.Type):
		return v
	}
	c.l.Errorf(pos, "can not assign %s to %s", v.Type, t).WithHint(assignHint(t, v.Type))
	return nil
}

func assignHint(t, v *ir.ValueType) string {
	switch {
	case t.Kind == ir.TString && (v.IsNumeric() || v.Kind == ir.TBool):
		return `grule can not store a number in a string field; concatenate with "" first, e.g. "" + x`
	case v.Kind == ir.TNil:
		return "fields of generated facts are values, never nil"
	}
	return "grule's reflection refuses to set a value of another type"
}

// intLiteral parses an integer literal as grule does (strconv.ParseInt
// with base 0: 0x hex, 0 octal).
func (c *checker) intLiteral(f *diag.File, lit grulev3.IIntegerLiteralContext) (int64, bool) {
	v, err := strconv.ParseInt(lit.GetText(), 0, 64)
	if err != nil {
		c.l.Errorf(ctxPos(f, lit), "integer literal %s: %v", lit.GetText(), err.(*strconv.NumError).Err).WithHint("integers are int64")
		return 0, false
	}
	return v, true
}
