package grl

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/antlr4-go/antlr/v4"
	"github.com/hyperjumptech/grule-rule-engine/antlr/parser/grulev3"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// expr checks an expression of grule's grammar. It returns nil after
// reporting an error; callers then stay silent to avoid cascades.
func (c *checker) expr(x grulev3.IExpressionContext) *ir.Expr {
	if x == nil {
		return nil
	}
	if a := x.ExpressionAtom(); a != nil {
		return c.atom(a)
	}
	pos := ctxPos(c.file, x)
	if x.LR_BRACKET() != nil {
		inner := c.expr(x.Expression(0))
		if inner == nil {
			return nil
		}
		if x.NEGATION() != nil {
			return c.not(inner, pos)
		}
		return inner
	}
	l, r := c.expr(x.Expression(0)), c.expr(x.Expression(1))
	op, opCtx := binaryOp(x)
	if opCtx != nil {
		pos = ctxPos(c.file, opCtx)
	}
	if l == nil || r == nil || op == ir.OpInvalid {
		return nil
	}
	return c.binary(op, l, r, pos, srcText(c.file, x))
}

// binaryOp maps the operator of a binary expression.
func binaryOp(x grulev3.IExpressionContext) (ir.Op, antlr.ParserRuleContext) {
	if o := x.MulDivOperators(); o != nil {
		switch {
		case o.MUL() != nil:
			return ir.OpMul, o
		case o.DIV() != nil:
			return ir.OpDiv, o
		case o.MOD() != nil:
			return ir.OpMod, o
		}
	}
	if o := x.AddMinusOperators(); o != nil {
		switch {
		case o.PLUS() != nil:
			return ir.OpAdd, o
		case o.MINUS() != nil:
			return ir.OpSub, o
		case o.BITAND() != nil:
			return ir.OpBitAnd, o
		case o.BITOR() != nil:
			return ir.OpBitOr, o
		}
	}
	if o := x.ComparisonOperator(); o != nil {
		switch {
		case o.GT() != nil:
			return ir.OpGt, o
		case o.LT() != nil:
			return ir.OpLt, o
		case o.GTE() != nil:
			return ir.OpGe, o
		case o.LTE() != nil:
			return ir.OpLe, o
		case o.EQUALS() != nil:
			return ir.OpEq, o
		case o.NOTEQUALS() != nil:
			return ir.OpNe, o
		}
	}
	if o := x.AndLogicOperator(); o != nil {
		return ir.OpAnd, o
	}
	if o := x.OrLogicOperator(); o != nil {
		return ir.OpOr, o
	}
	return ir.OpInvalid, nil
}

var opText = map[ir.Op]string{
	ir.OpAdd: "+", ir.OpSub: "-", ir.OpMul: "*", ir.OpDiv: "/", ir.OpMod: "%",
	ir.OpBitAnd: "&", ir.OpBitOr: "|", ir.OpEq: "==", ir.OpNe: "!=", ir.OpLt: "<",
	ir.OpLe: "<=", ir.OpGt: ">", ir.OpGe: ">=", ir.OpAnd: "&&", ir.OpOr: "||",
}

// grule's run-time error for each operator applied to unsupported types.
var opGruleName = map[ir.Op]string{
	ir.OpAdd: "addition", ir.OpSub: "subtraction", ir.OpMul: "multiplication", ir.OpDiv: "division",
	ir.OpMod: "modulo", ir.OpBitAnd: "bitwise AND operation", ir.OpBitOr: "bitwise OR operation",
	ir.OpEq: "EQ comparison", ir.OpNe: "EQ comparison", ir.OpLt: "LT comparison", ir.OpLe: "LTE comparison",
	ir.OpGt: "GT comparison", ir.OpGe: "GTE comparison", ir.OpAnd: "Logical AND comparison", ir.OpOr: "Logical OR comparison",
}

// binary types `l op r` with grule's value semantics (pkg/reflectmath.go).
func (c *checker) binary(op ir.Op, l, r *ir.Expr, pos diag.Pos, text string) *ir.Expr {
	lk, rk := l.Type.Kind, r.Type.Kind
	num := l.Type.IsNumeric() && r.Type.IsNumeric()
	mk := func(t *ir.ValueType, x, y *ir.Expr) *ir.Expr {
		return c.fold(&ir.Expr{Op: op, Type: t, X: x, Y: y, Pos: pos, Text: text})
	}
	switch op {
	case ir.OpAdd:
		switch {
		case lk == ir.TString && (rk == ir.TString || r.Type.IsNumeric() || rk == ir.TBool):
			op = ir.OpConcat
			return mk(ir.StringType, l, c.toString(r))
		case l.Type.IsNumeric() && rk == ir.TString:
			op = ir.OpConcat
			return mk(ir.StringType, c.toString(l), r)
		case num:
			return c.arith(op, l, r, mk)
		}
	case ir.OpSub, ir.OpMul:
		if num {
			return c.arith(op, l, r, mk)
		}
	case ir.OpDiv:
		if num {
			return mk(ir.FloatType, toFloat(c, l), toFloat(c, r))
		}
	case ir.OpMod:
		if lk == ir.TInt && rk == ir.TInt {
			if r.Op == ir.OpConst && r.Const.(int64) == 0 {
				c.l.Errorf(r.Pos, "integer modulo by zero").WithHint("grule fails at run time with a division-by-zero panic")
				return nil
			}
			if r.Op != ir.OpConst {
				c.panics = true // modulo by a zero value panics, as in grule
			}
			return mk(ir.IntType, l, r)
		}
	case ir.OpBitAnd, ir.OpBitOr:
		if lk == ir.TInt && rk == ir.TInt {
			return mk(ir.IntType, l, r)
		}
	case ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe:
		switch {
		case lk == ir.TString && rk == ir.TString:
			return mk(ir.BoolType, l, r)
		case num:
			l, r = promote(c, l, r)
			return mk(ir.BoolType, l, r)
		}
	case ir.OpEq, ir.OpNe:
		switch {
		case (lk == ir.TString || lk == ir.TBool) && lk == rk:
			return mk(ir.BoolType, l, r)
		case lk == ir.TString || lk == ir.TBool:
			c.l.Warnf(pos, "%s %s %s is always false", l.Type, opText[op], r.Type).
				WithHint("grule compares a " + l.Type.String() + " only with another " + l.Type.String() + " and yields false (for == and != alike) otherwise")
			return c.never(l, r, pos, text)
		case num:
			l, r = promote(c, l, r)
			return mk(ir.BoolType, l, r)
		}
	case ir.OpAnd, ir.OpOr:
		if lk == ir.TBool && rk == ir.TBool {
			return mk(ir.BoolType, l, r)
		}
	}
	bad := l.Type
	if validOperand(op, l.Type) {
		bad = r.Type
	}
	c.l.Errorf(pos, "invalid operation: %s %s %s", l.Type, opText[op], r.Type).
		WithHint(fmt.Sprintf("grule fails at run time: can not use data type of %s in %s", gruleKind(bad), opGruleName[op]))
	return nil
}

// validOperand says whether t is acceptable as the left operand of op, to
// name the offending side the way grule's error does.
func validOperand(op ir.Op, t *ir.ValueType) bool {
	switch op {
	case ir.OpAdd:
		return t.IsNumeric() || t.Kind == ir.TString
	case ir.OpMod, ir.OpBitAnd, ir.OpBitOr:
		return t.Kind == ir.TInt
	case ir.OpAnd, ir.OpOr:
		return t.Kind == ir.TBool
	case ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe, ir.OpEq, ir.OpNe:
		return t.IsNumeric() || t.Kind == ir.TString
	}
	return t.IsNumeric()
}

// gruleKind names a type the way reflect.Kind.String does in grule's errors.
func gruleKind(t *ir.ValueType) string {
	switch t.Kind {
	case ir.TObject:
		return "struct"
	case ir.TSlice:
		return "slice"
	case ir.TEvent:
		return "ptr"
	case ir.TNil, ir.TVoid:
		return "invalid"
	}
	return t.String()
}

// arith types + - * over numbers: int64 op int64 stays int64 (and wraps),
// anything with a float64 is float64.
func (c *checker) arith(op ir.Op, l, r *ir.Expr, mk func(*ir.ValueType, *ir.Expr, *ir.Expr) *ir.Expr) *ir.Expr {
	if l.Type.Kind == ir.TInt && r.Type.Kind == ir.TInt {
		return mk(ir.IntType, l, r)
	}
	return mk(ir.FloatType, toFloat(c, l), toFloat(c, r))
}

// promote converts the int64 side of a mixed comparison to float64.
func promote(c *checker, l, r *ir.Expr) (*ir.Expr, *ir.Expr) {
	if l.Type.Kind != r.Type.Kind {
		return toFloat(c, l), toFloat(c, r)
	}
	return l, r
}

func toFloat(c *checker, e *ir.Expr) *ir.Expr {
	if e.Type.Kind != ir.TInt {
		return e
	}
	return c.fold(&ir.Expr{Op: ir.OpToFloat, Type: ir.FloatType, X: e, Pos: e.Pos})
}

// toString formats a non-string operand of + as grule's fmt.Sprintf does.
func (c *checker) toString(e *ir.Expr) *ir.Expr {
	if e.Type.Kind == ir.TString {
		return e
	}
	return c.fold(&ir.Expr{Op: ir.OpToString, Type: ir.StringType, X: e, Pos: e.Pos})
}

// never is false after evaluating l and r, which only matters when one
// of them can fail at run time.
func (c *checker) never(l, r *ir.Expr, pos diag.Pos, text string) *ir.Expr {
	if !mayPanic(l) && (r == nil || !mayPanic(r)) {
		return &ir.Expr{Op: ir.OpConst, Type: ir.BoolType, Const: false, Pos: pos, Text: text}
	}
	if r == nil {
		r = &ir.Expr{Op: ir.OpConst, Type: ir.NilType, Pos: pos, Text: "nil"}
	}
	return &ir.Expr{Op: ir.OpFalse, Type: ir.BoolType, X: l, Y: r, Pos: pos, Text: text}
}

// mayPanic reports whether evaluating e can fail at run time.
func mayPanic(e *ir.Expr) bool {
	found := false
	e.Walk(func(x *ir.Expr) {
		switch {
		case x.Op == ir.OpIndex, x.Op == ir.OpMod && x.Y.Op != ir.OpConst,
			x.Op == ir.OpMethod && (x.Func == ir.MStrRepeat || x.Func == ir.MStrMatchString && x.Args[0].Op != ir.OpConst):
			found = true
		}
	})
	return found
}

// not types !x. Grule ignores (with a log warning) the negation of a
// non-bool value, so the compiler does too, with a warning.
func (c *checker) not(x *ir.Expr, pos diag.Pos) *ir.Expr {
	if x.Type.Kind != ir.TBool {
		c.l.Warnf(pos, "negation of a %s value is ignored", x.Type).WithHint("grule ignores ! on non-bool values; remove it")
		return x
	}
	return c.fold(&ir.Expr{Op: ir.OpNot, Type: ir.BoolType, X: x, Pos: pos})
}

// atom checks an expressionAtom.
func (c *checker) atom(a grulev3.IExpressionAtomContext) *ir.Expr {
	if a == nil {
		return nil
	}
	pos := ctxPos(c.file, a)
	switch {
	case a.Constant() != nil:
		return c.constant(a.Constant())
	case a.Variable() != nil:
		return c.variable(a.Variable())
	case a.FunctionCall() != nil && a.ExpressionAtom() == nil:
		return c.call(a.FunctionCall(), nil)
	case a.NEGATION() != nil:
		x := c.atom(a.ExpressionAtom())
		if x == nil {
			return nil
		}
		return c.not(x, pos)
	}
	x := c.atom(a.ExpressionAtom())
	if x == nil {
		return nil
	}
	switch {
	case a.MethodCall() != nil && a.MethodCall().FunctionCall() != nil:
		return c.call(a.MethodCall().FunctionCall(), x)
	case a.MemberVariable() != nil && a.MemberVariable().SIMPLENAME() != nil:
		m := a.MemberVariable()
		return c.field(x, m.SIMPLENAME().GetText(), tokPos(c.file, m.SIMPLENAME().GetSymbol()))
	case a.ArrayMapSelector() != nil:
		return c.index(x, c.expr(a.ArrayMapSelector().Expression()), ctxPos(c.file, a.ArrayMapSelector()))
	}
	return nil
}

// variable checks a variable: a fact, a field or an element.
func (c *checker) variable(v grulev3.IVariableContext) *ir.Expr {
	if v == nil {
		return nil
	}
	if inner := v.Variable(); inner != nil {
		x := c.variable(inner)
		if x == nil {
			return nil
		}
		if m := v.MemberVariable(); m != nil && m.SIMPLENAME() != nil {
			return c.field(x, m.SIMPLENAME().GetText(), tokPos(c.file, m.SIMPLENAME().GetSymbol()))
		}
		if s := v.ArrayMapSelector(); s != nil {
			return c.index(x, c.expr(s.Expression()), ctxPos(c.file, s))
		}
		return nil
	}
	if v.SIMPLENAME() == nil {
		return nil
	}
	name := v.SIMPLENAME().GetText()
	pos := ctxPos(c.file, v)
	switch {
	case name == c.kb.FactName && c.fact != nil:
		return &ir.Expr{Op: ir.OpFact, Type: c.fact, Name: name, Pos: pos, Text: name}
	case name == "Event":
		return &ir.Expr{Op: ir.OpEvent, Type: ir.EventType, Name: name, Pos: pos, Text: name}
	}
	c.l.Errorf(pos, "unknown fact %s", name).WithHint(didYouMean(name, []string{c.kb.FactName, "Event"},
		fmt.Sprintf("the facts in scope are %s (kb.yaml) and Event", c.kb.FactName)))
	return nil
}

// eventFields are the read-only CloudEvent attributes of the Event fact.
var eventFields = []string{"ID", "Type", "Source", "Subject", "Time", "TenantID"}

// field checks x.name.
func (c *checker) field(x *ir.Expr, name string, pos diag.Pos) *ir.Expr {
	mk := func(t *ir.ValueType) *ir.Expr {
		return &ir.Expr{Op: ir.OpField, Type: t, Name: name, X: x, Pos: pos, Text: x.Text + "." + name}
	}
	switch x.Type.Kind {
	case ir.TObject:
		if f := x.Type.Object.Field(name); f != nil {
			return mk(ir.TypeOf(f.Type))
		}
		c.l.Errorf(pos, "%s has no field %s", x.Text, name).WithHint(fieldHint(x.Type.Object, name))
		return nil
	case ir.TEvent:
		if contains(eventFields, name) {
			return mk(ir.StringType)
		}
		c.l.Errorf(pos, "Event has no field %s", name).WithHint(didYouMean(name, eventFields, "Event's fields are "+strings.Join(eventFields, ", ")))
		return nil
	}
	c.l.Errorf(pos, "%s is a %s and has no fields", x.Text, x.Type).WithHint("only facts and objects have fields")
	return nil
}

// fieldHint suggests the Go name GRL must use.
func fieldHint(o *ir.ObjectType, name string) string {
	var names []string
	for _, f := range o.Fields {
		if f.Name == name || strings.EqualFold(f.GoName, name) {
			return fmt.Sprintf("did you mean %s? GRL uses the Go field name", f.GoName)
		}
		names = append(names, f.GoName)
	}
	return didYouMean(name, names, "fields are "+strings.Join(names, ", "))
}

// index checks x[i].
func (c *checker) index(x, i *ir.Expr, pos diag.Pos) *ir.Expr {
	if i == nil {
		return nil
	}
	if x.Type.Kind != ir.TSlice {
		c.l.Errorf(pos, "%s is a %s, not an array", x.Text, x.Type).WithHint("grule can index arrays and slices only")
		return nil
	}
	if i.Type.Kind != ir.TInt {
		c.l.Errorf(i.Pos, "array index must be an integer, got %s", i.Type).WithHint("grule panics on a non-integer index")
		return nil
	}
	if i.Op == ir.OpConst && i.Const.(int64) < 0 {
		c.l.Errorf(i.Pos, "negative array index %d", i.Const.(int64)).WithHint("grule fails at run time with an index out of range")
		return nil
	}
	c.panics = true // out of range fails, as in grule
	return &ir.Expr{Op: ir.OpIndex, Type: x.Type.Elem, X: x, Y: i, Pos: pos, Text: x.Text + "[...]"}
}

// constant checks a literal.
func (c *checker) constant(k grulev3.IConstantContext) *ir.Expr {
	pos := ctxPos(c.file, k)
	mk := func(t *ir.ValueType, v any) *ir.Expr {
		return &ir.Expr{Op: ir.OpConst, Type: t, Const: v, Pos: pos, Text: k.GetText()}
	}
	switch {
	case k.StringLiteral() != nil:
		s, err := unquote(k.GetText())
		if err != nil {
			c.l.Errorf(pos, "invalid string literal %s: %v", k.GetText(), err).WithHint(`escapes are Go's; the literal's own quote must be escaped with a backslash ("" is not an escape)`)
			return nil
		}
		return mk(ir.StringType, s)
	case k.IntegerLiteral() != nil:
		v, ok := c.intLiteral(c.file, k.IntegerLiteral())
		if !ok {
			return nil
		}
		return mk(ir.IntType, v)
	case k.FloatLiteral() != nil:
		v, err := strconv.ParseFloat(k.GetText(), 64)
		if err != nil {
			c.l.Errorf(pos, "float literal %s: %v", k.GetText(), err.(*strconv.NumError).Err)
			return nil
		}
		return mk(ir.FloatType, v)
	case k.BooleanLiteral() != nil:
		return mk(ir.BoolType, strings.EqualFold(k.GetText(), "true"))
	case k.NIL_LITERAL() != nil:
		return &ir.Expr{Op: ir.OpConst, Type: ir.NilType, Pos: pos, Text: "nil"}
	}
	return nil
}

// fold evaluates operations over constants at compile time, with the same
// run-time semantics (wrapping int64, IEEE float64). Go would otherwise
// refuse constant overflow or constant division by zero that grule
// evaluates at run time.
func (c *checker) fold(e *ir.Expr) *ir.Expr {
	isK := func(x *ir.Expr) bool { return x != nil && x.Op == ir.OpConst && x.Type.Kind != ir.TNil }
	if e.Op == ir.OpAnd || e.Op == ir.OpOr {
		if s := foldLogic(e, isK); s != nil {
			return s
		}
	}
	if !isK(e.X) || (e.Y != nil && !isK(e.Y)) {
		return e
	}
	k := func(v any) *ir.Expr {
		return &ir.Expr{Op: ir.OpConst, Type: e.Type, Const: v, Pos: e.Pos, Text: e.Text}
	}
	x := e.X.Const
	switch e.Op {
	case ir.OpToFloat:
		return k(float64(x.(int64)))
	case ir.OpTruncInt:
		return k(int64(x.(float64)))
	case ir.OpToString:
		return k(formatGrule(x))
	case ir.OpNot:
		return k(!x.(bool))
	case ir.OpFalse:
		return k(false)
	}
	y := e.Y.Const
	switch a := x.(type) {
	case int64:
		b := y.(int64)
		switch e.Op {
		case ir.OpAdd:
			return k(a + b)
		case ir.OpSub:
			return k(a - b)
		case ir.OpMul:
			return k(a * b)
		case ir.OpMod:
			if b != 0 {
				return k(a % b)
			}
		case ir.OpBitAnd:
			return k(a & b)
		case ir.OpBitOr:
			return k(a | b)
		case ir.OpEq:
			return k(a == b)
		case ir.OpNe:
			return k(a != b)
		case ir.OpLt:
			return k(a < b)
		case ir.OpLe:
			return k(a <= b)
		case ir.OpGt:
			return k(a > b)
		case ir.OpGe:
			return k(a >= b)
		}
	case float64:
		b := y.(float64)
		switch e.Op {
		case ir.OpAdd:
			return k(a + b)
		case ir.OpSub:
			return k(a - b)
		case ir.OpMul:
			return k(a * b)
		case ir.OpDiv:
			return k(a / b)
		case ir.OpEq:
			return k(a == b)
		case ir.OpNe:
			return k(a != b)
		case ir.OpLt:
			return k(a < b)
		case ir.OpLe:
			return k(a <= b)
		case ir.OpGt:
			return k(a > b)
		case ir.OpGe:
			return k(a >= b)
		}
	case string:
		b := y.(string)
		switch e.Op {
		case ir.OpConcat:
			return k(a + b)
		case ir.OpEq:
			return k(a == b)
		case ir.OpNe:
			return k(a != b)
		case ir.OpLt:
			return k(a < b)
		case ir.OpLe:
			return k(a <= b)
		case ir.OpGt:
			return k(a > b)
		case ir.OpGe:
			return k(a >= b)
		}
	case bool:
		b := y.(bool)
		switch e.Op {
		case ir.OpEq:
			return k(a == b)
		case ir.OpNe:
			return k(a != b)
		case ir.OpAnd:
			return k(a && b)
		case ir.OpOr:
			return k(a || b)
		}
	}
	return e
}

// foldLogic simplifies && and || with one constant operand, keeping every
// evaluation grule would do (a right operand that may fail stays).
func foldLogic(e *ir.Expr, isK func(*ir.Expr) bool) *ir.Expr {
	absorb := e.Op == ir.OpOr // true absorbs ||, false absorbs &&
	switch {
	case isK(e.X) && isK(e.Y):
		return nil
	case isK(e.X):
		if e.X.Const.(bool) == absorb {
			return e.X
		}
		return e.Y
	case isK(e.Y):
		if e.Y.Const.(bool) != absorb {
			return e.X
		}
		if !mayPanic(e.X) {
			return e.Y
		}
	}
	return nil
}

// formatGrule formats a value as grule's string concatenation does.
func formatGrule(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return fmt.Sprintf("%f", x)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

var _ = math.Inf
