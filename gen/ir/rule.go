package ir

import (
	"github.com/eventrunner/eventrunner/gen/diag"
)

// Rule is one type-checked GRL rule: its typed condition and actions, ready
// for an emitter that knows nothing about GRL syntax.
type Rule struct {
	Name        string
	Description string
	Salience    int
	// Index is the rule's position in declaration order within its KB.
	Index int
	// Text is the rule's GRL source, kept as a comment above its compiled
	// functions.
	Text string
	Pos  diag.Pos
	// When is the condition; its type is bool.
	When *Expr
	// Then lists the actions in source order.
	Then []*Stmt
	// WhenMayPanic and ThenMayPanic say whether evaluating the condition or
	// the actions can fail at run time (index out of range, integer modulo
	// by zero, ...). Grule treats a failing condition as "no match" and a
	// failing action as an execution error; the emitter adds a recover only
	// where one of these is set.
	WhenMayPanic bool
	ThenMayPanic bool
}

// TypeKind is the kind of a GRL value as the checker sees it.
type TypeKind int

const (
	TInvalid TypeKind = iota
	TInt              // int64 (grule's integer kinds all behave as int64)
	TFloat            // float64
	TString
	TBool
	TObject // a struct generated from a schema object
	TSlice  // a slice generated from a schema array
	TEvent  // the built-in Event fact (*rules.Event)
	TNil    // the nil literal
	TVoid   // the "value" of a call that returns nothing
)

// ValueType is the static type of a GRL expression.
type ValueType struct {
	Kind   TypeKind
	Object *ObjectType // Kind == TObject
	Elem   *ValueType  // Kind == TSlice
}

// Predeclared scalar types.
var (
	IntType    = &ValueType{Kind: TInt}
	FloatType  = &ValueType{Kind: TFloat}
	StringType = &ValueType{Kind: TString}
	BoolType   = &ValueType{Kind: TBool}
	EventType  = &ValueType{Kind: TEvent}
	NilType    = &ValueType{Kind: TNil}
	VoidType   = &ValueType{Kind: TVoid}
)

// String names the type as Go (and so grule's error messages) would.
func (t *ValueType) String() string {
	if t == nil {
		return "invalid"
	}
	switch t.Kind {
	case TInt:
		return "int64"
	case TFloat:
		return "float64"
	case TString:
		return "string"
	case TBool:
		return "bool"
	case TObject:
		return t.Object.GoName
	case TSlice:
		return "[]" + t.Elem.String()
	case TEvent:
		return "Event"
	case TNil:
		return "nil"
	case TVoid:
		return "no value"
	}
	return "invalid"
}

// IsNumeric reports int64 or float64.
func (t *ValueType) IsNumeric() bool { return t.Kind == TInt || t.Kind == TFloat }

// Same reports whether two types are identical.
func (t *ValueType) Same(u *ValueType) bool {
	if t.Kind != u.Kind {
		return false
	}
	switch t.Kind {
	case TObject:
		return t.Object == u.Object
	case TSlice:
		return t.Elem.Same(u.Elem)
	}
	return true
}

// TypeOf converts a schema type to the type GRL sees.
func TypeOf(t *Type) *ValueType {
	switch t.Kind {
	case String:
		return StringType
	case Integer:
		return IntType
	case Number:
		return FloatType
	case Boolean:
		return BoolType
	case Object:
		return &ValueType{Kind: TObject, Object: t.Object}
	case Array:
		return &ValueType{Kind: TSlice, Elem: TypeOf(t.Items)}
	}
	return &ValueType{Kind: TInvalid}
}

// Op is what an Expr computes.
type Op int

const (
	OpInvalid  Op = iota
	OpConst       // Const holds int64, float64, string or bool; nil for the nil literal
	OpFact        // the data fact (Name is its GRL name)
	OpEvent       // the built-in Event fact
	OpField       // X.Name (a struct field or an Event attribute)
	OpIndex       // X[Y]
	OpCall        // built-in function Func(Args...) without receiver
	OpMethod      // X.Func(Args...)
	OpNot         // !X
	OpToFloat     // float64(X) for an int64 X
	OpTruncInt    // int64(X) for a float64 X (grule truncates on assignment)
	OpToString    // X formatted as grule's string + does: %d, %f, %v
	OpFalse       // evaluate X (it may fail), then yield false: grule's == and != between a string or bool and another type
	OpAdd
	OpSub
	OpMul
	OpDiv // float64 division (grule's / always yields float64)
	OpMod
	OpBitAnd
	OpBitOr
	OpConcat // string + string
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpAnd
	OpOr
)

// Expr is a typed expression. Operands are already converted: both sides
// of arithmetic and comparison have the same type, concatenation operands
// are strings.
type Expr struct {
	Op    Op
	Type  *ValueType
	Pos   diag.Pos
	Const any    // OpConst
	Name  string // OpFact: GRL fact name; OpField: Go field name
	Func  Builtin
	X, Y  *Expr
	Args  []*Expr
	// Text is the expression's GRL source.
	Text string
}

// StmtKind is what a Stmt does.
type StmtKind int

const (
	StmtAssign   StmtKind = iota + 1 // Target = Value
	StmtCall                         // a call for its effect (Event.Tag, ...)
	StmtRetract                      // Retract("Rule"): Rule is the declaration index
	StmtComplete                     // Complete()
	StmtNop                          // accepted and ignored (Log, Changed, Forget, pure expressions)
)

// Stmt is one action of a rule's then.
type Stmt struct {
	Kind StmtKind
	// Target is the assigned field or element (an OpField/OpIndex chain
	// rooted at the data fact).
	Target *Expr
	// Value is the value to store, already of Target's type; for StmtCall
	// the call.
	Value *Expr
	Rule  int
	Text  string
	Pos   diag.Pos
}

// Builtin names a function the compiled code provides. The checker decides
// which applies; the emitter decides how it is written in Go.
type Builtin string

// Built-in functions (no receiver).
const (
	FnIsNil          Builtin = "IsNil"
	FnIsZero         Builtin = "IsZero"
	FnStringContains Builtin = "StringContains"
	FnContainsStr    Builtin = "ContainsStr"
	FnMax            Builtin = "Max"
	FnMin            Builtin = "Min"
	// FnMath is a float64 function of package math with the same name
	// (Abs, Ceil, Pow, ...); Name holds it.
	FnMath Builtin = "math"
)

// Methods of strings, slices and Event.
const (
	MStrLen         Builtin = "str.Len"
	MStrCompare     Builtin = "str.Compare"
	MStrContains    Builtin = "str.Contains"
	MStrCount       Builtin = "str.Count"
	MStrHasPrefix   Builtin = "str.HasPrefix"
	MStrHasSuffix   Builtin = "str.HasSuffix"
	MStrIndex       Builtin = "str.Index"
	MStrLastIndex   Builtin = "str.LastIndex"
	MStrRepeat      Builtin = "str.Repeat"
	MStrReplace     Builtin = "str.Replace"
	MStrSplit       Builtin = "str.Split"
	MStrToLower     Builtin = "str.ToLower"
	MStrToUpper     Builtin = "str.ToUpper"
	MStrTrim        Builtin = "str.Trim"
	MStrIn          Builtin = "str.In"
	MStrMatchString Builtin = "str.MatchString"
	MSliceLen       Builtin = "slice.Len"
	MSliceAppend    Builtin = "slice.Append"
	MEventTag       Builtin = "Event.Tag"
	MEventRoute     Builtin = "Event.Route"
	MEventDrop      Builtin = "Event.Drop"
	MEventHasTag    Builtin = "Event.HasTag"
	MEventIsDropped Builtin = "Event.IsDropped"
)

// Walk calls fn for e and every expression below it, parents first.
func (e *Expr) Walk(fn func(*Expr)) {
	if e == nil {
		return
	}
	fn(e)
	e.X.Walk(fn)
	e.Y.Walk(fn)
	for _, a := range e.Args {
		a.Walk(fn)
	}
}
