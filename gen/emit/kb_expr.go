package emit

import (
	"fmt"
	"math"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// goPrec is the Go precedence of a binary operator (5 binds tightest).
// GRL's grammar puts & and | with + and -, Go puts & with *: parentheses
// are added wherever the tree and Go's precedence disagree.
func goPrec(op ir.Op) int {
	switch op {
	case ir.OpMul, ir.OpDiv, ir.OpMod, ir.OpBitAnd:
		return 5
	case ir.OpAdd, ir.OpSub, ir.OpBitOr, ir.OpConcat:
		return 4
	case ir.OpEq, ir.OpNe, ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe:
		return 3
	case ir.OpAnd:
		return 2
	case ir.OpOr:
		return 1
	}
	return 6 // operands, calls, unary
}

var goOp = map[ir.Op]string{
	ir.OpAdd: "+", ir.OpSub: "-", ir.OpMul: "*", ir.OpDiv: "/", ir.OpMod: "%",
	ir.OpBitAnd: "&", ir.OpBitOr: "|", ir.OpConcat: "+", ir.OpEq: "==", ir.OpNe: "!=",
	ir.OpLt: "<", ir.OpLe: "<=", ir.OpGt: ">", ir.OpGe: ">=", ir.OpAnd: "&&", ir.OpOr: "||",
}

// expr renders a typed expression as Go. min is the lowest precedence the
// context accepts without parentheses.
func (g *kbGen) expr(e *ir.Expr, min int) jen.Code {
	if op, ok := goOp[e.Op]; ok {
		p := goPrec(e.Op)
		var right jen.Code
		if e.Op == ir.OpDiv && isZeroConst(e.Y) {
			// Go refuses a constant zero divisor; grule yields ±Inf or NaN.
			return jen.Qual(RulesPkg, "FloatDiv").Call(g.expr(e.X, 0), g.expr(e.Y, 0))
		}
		left := g.expr(e.X, p)
		right = g.expr(e.Y, p+1) // left-associative: an equal right operand needs parentheses
		if e.Op == ir.OpAdd || e.Op == ir.OpSub {
			left, right = g.noFMA(e.X, left), g.noFMA(e.Y, right)
		}
		c := jen.Add(left).Op(op).Add(right)
		if p < min {
			return jen.Parens(c)
		}
		return c
	}
	switch e.Op {
	case ir.OpConst:
		return constant(e)
	case ir.OpFact:
		return jen.Id("f")
	case ir.OpEvent:
		return jen.Id("ev")
	case ir.OpField:
		return jen.Add(g.expr(e.X, 6)).Dot(e.Name)
	case ir.OpIndex:
		return jen.Add(g.expr(e.X, 6)).Index(g.expr(e.Y, 0))
	case ir.OpNot:
		return jen.Op("!").Add(g.expr(e.X, 6))
	case ir.OpToFloat:
		return jen.Float64().Call(g.expr(e.X, 0))
	case ir.OpTruncInt:
		return jen.Int64().Call(g.expr(e.X, 0))
	case ir.OpToString:
		return g.toString(e.X)
	case ir.OpFalse:
		// grule evaluates both sides (which may fail) and yields false
		return jen.Qual(RulesPkg, "False").Call(g.expr(e.X, 0), g.expr(e.Y, 0))
	case ir.OpCall:
		c := g.function(e)
		if min > 3 && (e.Func == ir.FnIsNil || e.Func == ir.FnIsZero) {
			return jen.Parens(c) // rendered as a comparison
		}
		return c
	case ir.OpMethod:
		return g.method(e)
	}
	panic(fmt.Sprintf("emit: unexpected expression op %d", e.Op))
}

// noFMA wraps a float64 product that feeds + or - in an explicit
// conversion: Go may fuse x*y+z into one FMA instruction on some
// architectures (arm64, ppc64le, s390x), which rounds differently from
// grule's separate reflect operations; a conversion forbids the fusion.
func (g *kbGen) noFMA(e *ir.Expr, c jen.Code) jen.Code {
	if e.Type.Kind == ir.TFloat && e.Op == ir.OpMul {
		return jen.Float64().Call(g.expr(e, 0))
	}
	return c
}

func isZeroConst(e *ir.Expr) bool {
	if e.Op != ir.OpConst {
		return false
	}
	switch v := e.Const.(type) {
	case float64:
		return v == 0
	case int64:
		return v == 0
	}
	return false
}

// constant renders a literal so that Go gives it exactly the value grule
// computes.
func constant(e *ir.Expr) jen.Code {
	switch v := e.Const.(type) {
	case int64:
		return jen.Lit(int(v)) // untyped: the other operand (or the field) is int64
	case float64:
		switch {
		case math.IsNaN(v):
			return jen.Qual("math", "NaN").Call()
		case math.IsInf(v, 1):
			return jen.Qual("math", "Inf").Call(jen.Lit(1))
		case math.IsInf(v, -1):
			return jen.Qual("math", "Inf").Call(jen.Lit(-1))
		case v == 0 && math.Signbit(v):
			return jen.Qual("math", "Copysign").Call(jen.Lit(0), jen.Lit(-1))
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !containsAny(s, ".eE") {
			s += ".0"
		}
		return jen.Op(s)
	case string:
		return jen.Lit(v)
	case bool:
		return jen.Lit(v)
	case nil:
		return jen.Nil()
	}
	panic(fmt.Sprintf("emit: unexpected constant %T", e.Const))
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, r := range s {
			if r == c {
				return true
			}
		}
	}
	return false
}

// toString formats a number or bool as grule's string + does.
func (g *kbGen) toString(x *ir.Expr) jen.Code {
	switch x.Type.Kind {
	case ir.TInt:
		return jen.Qual("strconv", "FormatInt").Call(g.expr(x, 0), jen.Lit(10))
	case ir.TFloat:
		return jen.Qual(RulesPkg, "FormatFloatGRL").Call(g.expr(x, 0))
	case ir.TBool:
		return jen.Qual("strconv", "FormatBool").Call(g.expr(x, 0))
	}
	return g.expr(x, 0)
}

func (g *kbGen) args(e *ir.Expr) []jen.Code {
	out := make([]jen.Code, len(e.Args))
	for i, a := range e.Args {
		out[i] = g.expr(a, 0)
	}
	return out
}

// function renders a built-in function without receiver.
func (g *kbGen) function(e *ir.Expr) jen.Code {
	args := g.args(e)
	switch e.Func {
	case ir.FnMath:
		switch e.Name {
		case "Ilogb":
			return jen.Int64().Call(jen.Qual("math", "Ilogb").Call(args...))
		case "IsInf":
			return jen.Qual("math", "IsInf").Call(args[0], jen.Int().Call(args[1]))
		case "Jn":
			return jen.Qual("math", "Jn").Call(jen.Int().Call(args[0]), args[1])
		case "Ldexp":
			return jen.Qual("math", "Ldexp").Call(args[0], jen.Int().Call(args[1]))
		case "Pow10":
			return jen.Qual("math", "Pow10").Call(jen.Int().Call(args[0]))
		}
		return jen.Qual("math", e.Name).Call(args...)
	case ir.FnMax, ir.FnMin:
		return jen.Qual(RulesPkg, string(e.Func)).Call(args...)
	case ir.FnStringContains:
		return jen.Qual("strings", "Contains").Call(args...)
	case ir.FnContainsStr:
		return jen.Qual("slices", "Contains").Call(args...)
	case ir.FnIsNil:
		return jen.Add(args[0]).Op("==").Nil() // the checker leaves slices only
	case ir.FnIsZero:
		if e.Args[0].Type.Kind == ir.TString {
			return jen.Add(args[0]).Op("==").Lit("")
		}
		return jen.Add(args[0]).Op("==").Lit(0) // the checker leaves numbers and strings only
	}
	panic(fmt.Sprintf("emit: unexpected function %s", e.Func))
}

// method renders a method of a string, slice or Event.
func (g *kbGen) method(e *ir.Expr) jen.Code {
	recv := g.expr(e.X, 6)
	args := g.args(e)
	strs := func(fn string) jen.Code {
		return jen.Qual("strings", fn).Call(append([]jen.Code{g.expr(e.X, 0)}, args...)...)
	}
	switch e.Func {
	case ir.MStrLen, ir.MSliceLen:
		return jen.Int64().Call(jen.Len(g.expr(e.X, 0)))
	case ir.MStrCompare:
		return jen.Int64().Call(strs("Compare"))
	case ir.MStrCount:
		return jen.Int64().Call(strs("Count"))
	case ir.MStrIndex:
		return jen.Int64().Call(strs("Index"))
	case ir.MStrLastIndex:
		return jen.Int64().Call(strs("LastIndex"))
	case ir.MStrContains:
		return strs("Contains")
	case ir.MStrHasPrefix:
		return strs("HasPrefix")
	case ir.MStrHasSuffix:
		return strs("HasSuffix")
	case ir.MStrReplace:
		return strs("ReplaceAll")
	case ir.MStrSplit:
		return strs("Split")
	case ir.MStrToLower:
		return strs("ToLower")
	case ir.MStrToUpper:
		return strs("ToUpper")
	case ir.MStrTrim:
		return strs("TrimSpace")
	case ir.MStrRepeat:
		n := jen.Int().Call(args[0])
		if c, ok := e.Args[0].Const.(float64); ok && e.Args[0].Op == ir.OpConst {
			n = jen.Lit(int(c)) // Go refuses int(1.5) on a constant; grule truncates
		}
		return jen.Qual("strings", "Repeat").Call(g.expr(e.X, 0), n)
	case ir.MStrIn:
		return jen.Qual(RulesPkg, "StrIn").Call(append([]jen.Code{g.expr(e.X, 0)}, args...)...)
	case ir.MStrMatchString:
		if p := e.Args[0]; p.Op == ir.OpConst {
			return jen.Id(g.regexpVar(p.Const.(string))).Dot("MatchString").Call(g.expr(e.X, 0))
		}
		return jen.Qual(RulesPkg, "MatchString").Call(args[0], g.expr(e.X, 0))
	case ir.MEventTag:
		return jen.Add(recv).Dot("Tag").Call(args...)
	case ir.MEventRoute:
		return jen.Add(recv).Dot("Route").Call(args...)
	case ir.MEventDrop:
		return jen.Add(recv).Dot("Drop").Call()
	case ir.MEventHasTag:
		return jen.Add(recv).Dot("HasTag").Call(args...)
	case ir.MEventIsDropped:
		return jen.Add(recv).Dot("IsDropped").Call()
	}
	panic(fmt.Sprintf("emit: unexpected method %s", e.Func))
}

// regexpVar returns the package-level variable holding a compiled constant
// pattern (compiled once, safe for concurrent use).
func (g *kbGen) regexpVar(pattern string) string {
	for _, r := range g.regexps {
		if r.pattern == pattern {
			return r.name
		}
	}
	name := fmt.Sprintf("%sRE%d", g.prefix, len(g.regexps))
	g.regexps = append(g.regexps, regexpVar{name: name, pattern: pattern})
	return name
}
