package grl

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hyperjumptech/grule-rule-engine/antlr/parser/grulev3"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// sig is the signature of a built-in: parameter kinds (TInvalid = any
// type), an optional variadic kind, and the result.
type sig struct {
	fn       ir.Builtin
	params   []ir.TypeKind
	variadic ir.TypeKind
	result   *ir.ValueType
	// goInt: the result is a Go int in grule (Len, Index, ...), which
	// grule's reflect.Call refuses where an int64 parameter is expected.
	goInt bool
}

var (
	f1  = []ir.TypeKind{ir.TFloat}
	f2  = []ir.TypeKind{ir.TFloat, ir.TFloat}
	str = []ir.TypeKind{ir.TString}
)

// mathFuncs are grule's BuiltInFunctions wrapping package math; the key
// is the GRL name, the value the math function.
var mathFuncs = map[string]struct {
	goName string
	params []ir.TypeKind
	result *ir.ValueType
}{
	"Abs": {"Abs", f1, ir.FloatType}, "Acos": {"Acos", f1, ir.FloatType}, "Acosh": {"Acosh", f1, ir.FloatType},
	"Asin": {"Asin", f1, ir.FloatType}, "Asinh": {"Asinh", f1, ir.FloatType}, "Atan": {"Atan", f1, ir.FloatType},
	"Atan2": {"Atan2", f2, ir.FloatType}, "Atanh": {"Atanh", f1, ir.FloatType}, "Cbrt": {"Cbrt", f1, ir.FloatType},
	"Ceil": {"Ceil", f1, ir.FloatType}, "Copysign": {"Copysign", f2, ir.FloatType}, "Cos": {"Cos", f1, ir.FloatType},
	"Cosh": {"Cosh", f1, ir.FloatType}, "Dim": {"Dim", f2, ir.FloatType}, "Erf": {"Erf", f1, ir.FloatType},
	"Erfc": {"Erfc", f1, ir.FloatType}, "Erfcinv": {"Erfcinv", f1, ir.FloatType}, "Erfinv": {"Erfinv", f1, ir.FloatType},
	"Exp": {"Exp", f1, ir.FloatType}, "Exp2": {"Exp2", f1, ir.FloatType}, "Expm1": {"Expm1", f1, ir.FloatType},
	"Floor": {"Floor", f1, ir.FloatType}, "Gamma": {"Gamma", f1, ir.FloatType}, "Hypot": {"Hypot", f2, ir.FloatType},
	"Ilogb": {"Ilogb", f1, ir.IntType}, "IsInf": {"IsInf", []ir.TypeKind{ir.TFloat, ir.TInt}, ir.BoolType},
	"IsNaN": {"IsNaN", f1, ir.BoolType}, "J0": {"J0", f1, ir.FloatType}, "J1": {"J1", f1, ir.FloatType},
	"Jn": {"Jn", []ir.TypeKind{ir.TInt, ir.TFloat}, ir.FloatType}, "Ldexp": {"Ldexp", []ir.TypeKind{ir.TFloat, ir.TInt}, ir.FloatType},
	"MathLog": {"Log", f1, ir.FloatType}, "Log10": {"Log10", f1, ir.FloatType}, "Log1p": {"Log1p", f1, ir.FloatType},
	"Log2": {"Log2", f1, ir.FloatType}, "Logb": {"Logb", f1, ir.FloatType}, "Mod": {"Mod", f2, ir.FloatType},
	"NaN": {"NaN", nil, ir.FloatType}, "Pow": {"Pow", f2, ir.FloatType}, "Pow10": {"Pow10", []ir.TypeKind{ir.TInt}, ir.FloatType},
	"Remainder": {"Remainder", f2, ir.FloatType}, "Round": {"Round", f1, ir.FloatType}, "RoundToEven": {"RoundToEven", f1, ir.FloatType},
	"Signbit": {"Signbit", f1, ir.BoolType}, "Sin": {"Sin", f1, ir.FloatType}, "Sinh": {"Sinh", f1, ir.FloatType},
	"Sqrt": {"Sqrt", f1, ir.FloatType}, "Tan": {"Tan", f1, ir.FloatType}, "Tanh": {"Tanh", f1, ir.FloatType},
	"Trunc": {"Trunc", f1, ir.FloatType},
}

var funcs = map[string]sig{
	"IsNil":          {fn: ir.FnIsNil, params: []ir.TypeKind{ir.TInvalid}, result: ir.BoolType},
	"IsZero":         {fn: ir.FnIsZero, params: []ir.TypeKind{ir.TInvalid}, result: ir.BoolType},
	"StringContains": {fn: ir.FnStringContains, params: []ir.TypeKind{ir.TString, ir.TString}, result: ir.BoolType},
	"ContainsStr":    {fn: ir.FnContainsStr, params: []ir.TypeKind{ir.TSlice, ir.TString}, result: ir.BoolType},
	"Max":            {fn: ir.FnMax, variadic: ir.TFloat, result: ir.FloatType},
	"Min":            {fn: ir.FnMin, variadic: ir.TFloat, result: ir.FloatType},
}

var stringMethods = map[string]sig{
	"Len":         {fn: ir.MStrLen, result: ir.IntType, goInt: true},
	"Compare":     {fn: ir.MStrCompare, params: str, result: ir.IntType, goInt: true},
	"Contains":    {fn: ir.MStrContains, params: str, result: ir.BoolType},
	"Count":       {fn: ir.MStrCount, params: str, result: ir.IntType, goInt: true},
	"HasPrefix":   {fn: ir.MStrHasPrefix, params: str, result: ir.BoolType},
	"HasSuffix":   {fn: ir.MStrHasSuffix, params: str, result: ir.BoolType},
	"Index":       {fn: ir.MStrIndex, params: str, result: ir.IntType, goInt: true},
	"LastIndex":   {fn: ir.MStrLastIndex, params: str, result: ir.IntType, goInt: true},
	"Repeat":      {fn: ir.MStrRepeat, params: []ir.TypeKind{ir.TFloat}, result: ir.StringType},
	"Replace":     {fn: ir.MStrReplace, params: []ir.TypeKind{ir.TString, ir.TString}, result: ir.StringType},
	"Split":       {fn: ir.MStrSplit, params: str, result: &ir.ValueType{Kind: ir.TSlice, Elem: ir.StringType}},
	"ToLower":     {fn: ir.MStrToLower, result: ir.StringType},
	"ToUpper":     {fn: ir.MStrToUpper, result: ir.StringType},
	"Trim":        {fn: ir.MStrTrim, result: ir.StringType},
	"In":          {fn: ir.MStrIn, variadic: ir.TString, result: ir.BoolType},
	"MatchString": {fn: ir.MStrMatchString, params: str, result: ir.BoolType},
}

var eventMethods = map[string]sig{
	"Tag":       {fn: ir.MEventTag, params: str, result: ir.VoidType},
	"Route":     {fn: ir.MEventRoute, params: str, result: ir.VoidType},
	"Drop":      {fn: ir.MEventDrop, result: ir.VoidType},
	"HasTag":    {fn: ir.MEventHasTag, params: str, result: ir.BoolType},
	"IsDropped": {fn: ir.MEventIsDropped, result: ir.BoolType},
}

// timeFuncs are grule built-ins over time.Time, which our facts never hold.
var timeFuncs = []string{"Now", "MakeTime", "GetTimeYear", "GetTimeMonth", "GetTimeDay", "GetTimeHour",
	"GetTimeMinute", "GetTimeSecond", "IsTimeBefore", "IsTimeAfter", "TimeFormat"}

// statementFuncs are valid only as a then statement (see stmtCall).
var statementFuncs = []string{"Retract", "Complete", "Changed", "Forget", "Log", "LogFormat"}

func (c *checker) args(fc grulev3.IFunctionCallContext) []*ir.Expr {
	var out []*ir.Expr
	if al := fc.ArgumentList(); al != nil {
		for _, a := range al.AllExpression() {
			out = append(out, c.expr(a))
		}
	}
	return out
}

func (c *checker) arity(name string, args []*ir.Expr, n int, pos diag.Pos) bool {
	if len(args) != n {
		c.l.Errorf(pos, "%s takes %d argument(s), got %d", name, n, len(args))
		return false
	}
	return true
}

// call checks a function call (recv nil) or a method call on recv.
func (c *checker) call(fc grulev3.IFunctionCallContext, recv *ir.Expr) *ir.Expr {
	if fc.SIMPLENAME() == nil {
		return nil
	}
	name := fc.SIMPLENAME().GetText()
	pos := tokPos(c.file, fc.SIMPLENAME().GetSymbol())
	args := c.args(fc)
	for _, a := range args {
		if a == nil {
			return nil
		}
	}
	if recv == nil {
		return c.function(name, args, pos)
	}
	var table map[string]sig
	what := recv.Type.String()
	switch recv.Type.Kind {
	case ir.TString:
		table = stringMethods
	case ir.TSlice:
		table = map[string]sig{"Len": {fn: ir.MSliceLen, result: ir.IntType, goInt: true}}
		if k := recv.Type.Elem.Kind; k == ir.TString || k == ir.TInt || k == ir.TFloat || k == ir.TBool {
			table["Append"] = sig{fn: ir.MSliceAppend, variadic: k, result: ir.VoidType}
		}
	case ir.TEvent:
		table, what = eventMethods, "Event"
	case ir.TObject:
		c.l.Errorf(pos, "%s: methods of fact types can not be called from GRL", recv.Text+"."+name).
			WithHint("facts are plain data; read their fields instead")
		return nil
	default:
		c.l.Errorf(pos, "%s has no method %s", what, name).WithHint("grule supports no methods on " + what + " values")
		return nil
	}
	s, ok := table[name]
	if !ok {
		c.l.Errorf(pos, "%s has no method %s", what, name).WithHint(didYouMean(name, keys(table), what+" methods are "+strings.Join(keys(table), ", ")))
		return nil
	}
	if !c.checkArgs(name, s, args, pos) {
		return nil
	}
	e := &ir.Expr{Op: ir.OpMethod, Func: s.fn, Type: s.result, X: recv, Args: args, Pos: pos, Text: recv.Text + "." + name + "()"}
	if recv.Type.Kind == ir.TSlice && s.fn == ir.MSliceAppend && !c.appendable(recv) {
		return nil
	}
	switch s.fn {
	case ir.MStrRepeat:
		c.panics = true // a negative count panics, as in grule
	case ir.MStrMatchString:
		if args[0].Op == ir.OpConst {
			if _, err := regexp.Compile(args[0].Const.(string)); err != nil {
				c.l.Errorf(args[0].Pos, "invalid regular expression: %v", err).WithHint("grule fails at run time: function StrMatchRegexPattern requires valid regex pattern")
				return nil
			}
		} else {
			c.panics = true
		}
	}
	return e
}

// appendable: Append must grow a field of the data fact, not a temporary.
func (c *checker) appendable(recv *ir.Expr) bool {
	root := recv
	for root.X != nil {
		root = root.X
	}
	if root.Op != ir.OpFact || (recv.Op != ir.OpField && recv.Op != ir.OpIndex) {
		c.l.Errorf(recv.Pos, "Append needs an array field of %s", c.kb.FactName).WithHint("grule can only append to a settable slice")
		return false
	}
	return true
}

// function checks a built-in function call without receiver.
func (c *checker) function(name string, args []*ir.Expr, pos diag.Pos) *ir.Expr {
	if m, ok := mathFuncs[name]; ok {
		s := sig{fn: ir.FnMath, params: m.params, result: m.result}
		if !c.checkArgs(name, s, args, pos) {
			return nil
		}
		return &ir.Expr{Op: ir.OpCall, Func: ir.FnMath, Name: m.goName, Type: m.result, Args: args, Pos: pos, Text: name + "()"}
	}
	if s, ok := funcs[name]; ok {
		if !c.checkArgs(name, s, args, pos) {
			return nil
		}
		e := &ir.Expr{Op: ir.OpCall, Func: s.fn, Type: s.result, Args: args, Pos: pos, Text: name + "()"}
		switch s.fn {
		case ir.FnIsNil:
			switch args[0].Type.Kind {
			case ir.TSlice:
			case ir.TNil:
				return &ir.Expr{Op: ir.OpConst, Type: ir.BoolType, Const: true, Pos: pos, Text: e.Text}
			case ir.TObject, ir.TEvent:
				return c.never(args[0], nil, pos, e.Text) // a struct or a fact pointer is never nil
			default:
				c.l.Errorf(pos, "IsNil of a %s", args[0].Type).WithHint("grule panics on IsNil of a value that can not be nil; use IsZero or compare with \"\" or 0")
				return nil
			}
		case ir.FnIsZero:
			switch args[0].Type.Kind {
			case ir.TString, ir.TInt, ir.TFloat:
			default: // grule's IsZero is false for bools, structs, slices and facts
				return c.never(args[0], nil, pos, e.Text)
			}
		case ir.FnContainsStr:
			if args[0].Type.Elem.Kind != ir.TString {
				c.l.Errorf(args[0].Pos, "ContainsStr needs a []string, got %s", args[0].Type)
				return nil
			}
		}
		return e
	}
	switch {
	case contains(timeFuncs, name):
		c.l.Errorf(pos, "%s is not supported", name).WithHint("facts hold no time.Time values (date-time fields are RFC 3339 strings, comparable as strings) and Now() would make rules non-deterministic")
	case contains(statementFuncs, name):
		c.l.Errorf(pos, "%s returns no value; use it as a statement in then", name)
	case name == "Float64bits" || name == "Float64frombits":
		c.l.Errorf(pos, "%s is not supported", name).WithHint("facts have no unsigned integer fields")
	default:
		all := append(keys(funcs), statementFuncs...)
		for k := range mathFuncs {
			all = append(all, k)
		}
		c.l.Errorf(pos, "unknown function %s", name).WithHint(didYouMean(name, all, "see docs/grl-compat.md for the supported built-in functions"))
	}
	return nil
}

// checkArgs checks arity and argument types the way grule's reflect.Call
// would accept them (no implicit int → float conversion).
func (c *checker) checkArgs(name string, s sig, args []*ir.Expr, pos diag.Pos) bool {
	if s.variadic == ir.TInvalid && len(args) != len(s.params) {
		c.l.Errorf(pos, "%s takes %d argument(s), got %d", name, len(s.params), len(args))
		return false
	}
	ok := true
	for i, a := range args {
		want := s.variadic
		if i < len(s.params) {
			want = s.params[i]
		}
		switch {
		case a.Type.Kind == ir.TVoid:
			c.l.Errorf(a.Pos, "%s returns no value", a.Text)
			ok = false
		case name == "Repeat" && a.Type.IsNumeric():
			// grule converts any number to the repeat count
		case want == ir.TInvalid || a.Type.Kind == want:
			if want == ir.TInt && isGoInt(a) {
				c.l.Errorf(a.Pos, "argument %d of %s: %s returns a Go int, not int64", i+1, name, a.Text).
					WithHint("grule's reflection refuses int for an int64 parameter; compute with it first, e.g. x + 0")
				ok = false
			}
		default:
			hint := "grule's reflect.Call panics on a mismatched argument"
			if want == ir.TFloat && a.Type.Kind == ir.TInt {
				hint = "grule does not convert int64 to float64 for function arguments; write a float literal (e.g. 2.0) or multiply by 1.0"
			}
			c.l.Errorf(a.Pos, "argument %d of %s must be %s, got %s", i+1, name, kindName(want), a.Type).WithHint(hint)
			ok = false
		}
	}
	return ok
}

// isGoInt reports expressions whose value is a Go int in grule.
func isGoInt(e *ir.Expr) bool {
	if e.Op != ir.OpMethod && e.Op != ir.OpCall {
		return false
	}
	switch e.Func {
	case ir.MStrLen, ir.MStrCompare, ir.MStrCount, ir.MStrIndex, ir.MStrLastIndex, ir.MSliceLen:
		return true
	case ir.FnMath:
		return e.Name == "Ilogb"
	}
	return false
}

func kindName(k ir.TypeKind) string {
	switch k {
	case ir.TInt:
		return "int64"
	case ir.TFloat:
		return "float64"
	case ir.TString:
		return "string"
	case ir.TBool:
		return "bool"
	case ir.TSlice:
		return "an array"
	}
	return fmt.Sprint(k)
}

func keys(m map[string]sig) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
