package emit

import (
	"math"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// The validator checks the value constraints of a decoded fact (bounds,
// lengths in runes, item counts, patterns, enums, formats) and records each
// violation with its JSON path. It allocates only to describe a violation.
//
// An optional field is checked when AppendJSON writes it: when it was
// present in the input or holds a value other than its zero value
// (writtenExpr). An empty string sent for an optional enum is therefore a
// violation, as JSON Schema has it; a zero value the input did not send is
// absent and valid. Required fields and array elements are always checked.

func genValidateFile(f *jen.File, s *ir.Schema) {
	nm := &names{}
	patterns := patternVars(s, nm)
	genPatternVars(f, s, patterns)
	f.Comment("Validate appends the value violations of x (bounds, lengths, patterns, enums,")
	f.Comment("formats) to v. An optional field is checked when it was present in the input")
	f.Comment("or is not zero: as AppendJSON writes it.")
	f.Func().Params(jen.Id("x").Op("*").Id(s.GoName)).Id("Validate").Params(violParam).Block(
		jen.Id("x").Dot("validate").Call(jen.Nil(), jen.Id("v")),
	)
	for _, o := range objects(s) {
		genValidateObject(f, o, patterns)
	}
}

// patternVars names the matcher function (see genMatcher) or, for a pattern
// that is not simple, the precompiled regexp of every pattern.
func patternVars(s *ir.Schema, nm *names) map[*ir.Type]string {
	out := map[*ir.Type]string{}
	var walk func(t *ir.Type, base string)
	walk = func(t *ir.Type, base string) {
		switch t.Kind {
		case ir.String:
			switch {
			case t.Matcher != nil:
				out[t] = nm.get("match" + base)
			case t.Pattern != "":
				out[t] = nm.get(base + "Pattern")
			}
		case ir.Object:
			for _, f := range t.Object.Fields {
				walk(f.Type, t.Object.GoName+f.GoName)
			}
		case ir.Array:
			walk(t.Items, base+"Item")
		}
	}
	walk(objType(s.Root), s.GoName)
	return out
}

// genPatternVars declares the matchers and regexps in schema order.
//
//	var orderCreatedV1CustomerEmailPattern = regexp.MustCompile(`^[^@]+@acme\.com$`)
func genPatternVars(f *jen.File, s *ir.Schema, patterns map[*ir.Type]string) {
	var walk func(t *ir.Type)
	walk = func(t *ir.Type) {
		switch t.Kind {
		case ir.String:
			name, ok := patterns[t]
			switch {
			case !ok:
			case t.Matcher != nil:
				genMatcher(f, name, t.Pattern, t.Matcher)
			default:
				f.Var().Id(name).Op("=").Qual("regexp", "MustCompile").Call(jen.Lit(t.Pattern))
			}
		case ir.Object:
			for _, fl := range t.Object.Fields {
				walk(fl.Type)
			}
		case ir.Array:
			walk(t.Items)
		}
	}
	walk(objType(s.Root))
}

// genValidateObject emits the validator of one object type.
//
//	func (x *OrderCreatedV1LineItem) validate(p *rules.JSONPath, v *rules.Violations) {
//		if !matchOrderCreatedV1LineItemSku(x.Sku) {
//			v.AddKey(p, "sku", `must match pattern "^[A-Z0-9-]{3,32}$", got `+rules.QuoteValue(x.Sku))
//		}
//		if x.Quantity < 1 {
//			v.AddKey(p, "quantity", "must be >= 1, got "+rules.FormatInt(x.Quantity))
//		}
//		...
//	}
func genValidateObject(f *jen.File, o *ir.ObjectType, patterns map[*ir.Type]string) {
	f.Func().Params(jen.Id("x").Op("*").Id(o.GoName)).Id("validate").Params(pathParam, violParam).BlockFunc(func(g *jen.Group) {
		for i, fl := range o.Fields {
			if !hasChecks(fl.Type) {
				continue
			}
			e := jen.Id("x").Dot(fl.GoName)
			at := keyTarget{name: fl.Name}
			var stmts []jen.Code
			collect := func(c jen.Code) { stmts = append(stmts, c) }
			declares := checks(collect, fl.Type, e, at, 0, patterns)
			switch {
			case fl.Required && declares:
				// A block scopes the path variable.
				g.Block(stmts...)
				continue
			case fl.Required:
				addAll(g, stmts)
				continue
			}
			g.If(writtenExpr(i, fl)).Block(stmts...)
		}
	})
}

// target says where a violation about a value is recorded: a property of
// the object at p, or an element of the array at a path variable.
type target interface {
	add(msg jen.Code) jen.Code
	// path declares the value's own path (for nested objects and arrays)
	// and returns the statement and the variable name.
	path(depth int) (jen.Code, string)
}

type keyTarget struct{ name string }

func (k keyTarget) add(msg jen.Code) jen.Code {
	return jen.Id("v").Dot("AddKey").Call(jen.Id("p"), jen.Lit(k.name), msg)
}

func (k keyTarget) path(depth int) (jen.Code, string) {
	n := "fp" + strconv.Itoa(depth)
	return jen.Id(n).Op(":=").Id("p").Dot("Key").Call(jen.Lit(k.name)), n
}

type indexTarget struct{ arr, idx string }

func (t indexTarget) add(msg jen.Code) jen.Code {
	return jen.Id("v").Dot("AddIndex").Call(jen.Op("&").Id(t.arr), jen.Id(t.idx), msg)
}

func (t indexTarget) path(depth int) (jen.Code, string) {
	n := "ip" + strconv.Itoa(depth)
	return jen.Id(n).Op(":=").Id(t.arr).Dot("Index").Call(jen.Id(t.idx)), n
}

// hasChecks reports whether a value of type t can violate anything.
func hasChecks(t *ir.Type) bool {
	switch t.Kind {
	case ir.String:
		return t.Format != "" || len(t.Enum) > 0 || t.MinLength != nil || t.MaxLength != nil || t.Pattern != ""
	case ir.Integer, ir.Number:
		return t.Minimum != nil || t.Maximum != nil
	case ir.Object:
		for _, f := range t.Object.Fields {
			if hasChecks(f.Type) {
				return true
			}
		}
	case ir.Array:
		return t.MinItems != nil || t.MaxItems != nil || hasChecks(t.Items)
	}
	return false
}

// checks emits the checks of value e of type t. It reports whether it
// declared a path variable, which the caller must scope.
func checks(emit func(jen.Code), t *ir.Type, e *jen.Statement, at target, depth int, patterns map[*ir.Type]string) (declares bool) {
	switch t.Kind {
	case ir.String:
		stringChecks(emit, t, e, at, patterns)
	case ir.Integer, ir.Number:
		boundCheck(emit, t, e, at, t.Minimum, "<", ">=")
		boundCheck(emit, t, e, at, t.Maximum, ">", "<=")
	case ir.Object:
		if !hasChecks(t) {
			return false
		}
		decl, n := at.path(depth)
		emit(decl)
		emit(e.Clone().Dot("validate").Call(jen.Op("&").Id(n), jen.Id("v")))
		return true
	case ir.Array:
		countChecks(emit, at, "item count", t.MinItems, t.MaxItems, jen.Len(e.Clone()))
		if !hasChecks(t.Items) {
			return false
		}
		decl, n := at.path(depth)
		i := "i" + strconv.Itoa(depth)
		var body []jen.Code
		checks(func(c jen.Code) { body = append(body, c) }, t.Items, e.Clone().Index(jen.Id(i)),
			indexTarget{arr: n, idx: i}, depth+1, patterns)
		emit(decl)
		emit(jen.For(jen.Id(i).Op(":=").Range().Add(e.Clone())).Block(body...))
		return true
	}
	return false
}

// stringChecks emits length, pattern, enum and format checks.
//
//	if n := utf8.RuneCountInString(x.Id); n < 1 || n > 64 { ... }
//	switch x.Currency {
//	case OrderCreatedV1CurrencyEUR, OrderCreatedV1CurrencyUSD, OrderCreatedV1CurrencyGBP:
//	default:
//		v.AddKey(p, "currency", `must be one of "EUR", "USD", "GBP", got `+rules.QuoteValue(x.Currency))
//	}
func stringChecks(emit func(jen.Code), t *ir.Type, e *jen.Statement, at target, patterns map[*ir.Type]string) {
	if t.MinLength != nil || t.MaxLength != nil {
		countChecks(emit, at, "length", t.MinLength, t.MaxLength, jen.Qual("unicode/utf8", "RuneCountInString").Call(e.Clone()))
	}
	if name, ok := patterns[t]; ok {
		match := jen.Id(name).Dot("MatchString").Call(e.Clone())
		if t.Matcher != nil {
			match = jen.Id(name).Call(e.Clone())
		}
		emit(jen.If(jen.Op("!").Add(match)).Block(
			at.add(jen.Lit("must match pattern "+strconv.Quote(t.Pattern)+", got ").Op("+").Qual(RulesPkg, "QuoteValue").Call(e.Clone())),
		))
	}
	if len(t.Enum) > 0 {
		var cases []jen.Code
		for _, n := range t.EnumNames {
			cases = append(cases, jen.Id(n))
		}
		emit(jen.Switch(e.Clone()).Block(
			jen.Case(cases...),
			jen.Default().Block(at.add(jen.Lit("must be one of "+strings.Join(quoteAll(t.Enum), ", ")+", got ").Op("+").Qual(RulesPkg, "QuoteValue").Call(e.Clone()))),
		))
	}
	if t.Format != "" {
		fn, what := formatCheck(t.Format)
		emit(jen.If(jen.Op("!").Qual(RulesPkg, fn).Call(e.Clone())).Block(
			at.add(jen.Lit("must be "+what+", got ").Op("+").Qual(RulesPkg, "QuoteValue").Call(e.Clone())),
		))
	}
}

func formatCheck(format string) (fn, what string) {
	switch format {
	case "date-time":
		return "IsDateTime", "an RFC 3339 date-time"
	case "uuid":
		return "IsUUID", "a UUID"
	case "email":
		return "IsEmail", "an email address"
	case "uri":
		return "IsURI", "an absolute URI"
	}
	panic("emit: unknown format " + format)
}

// countChecks emits the bounds of a length or item count n.
//
//	if n := len(x.Items); n < 1 {
//		v.AddKey(p, "items", "item count must be >= 1, got "+strconv.Itoa(n))
//	} else if n > 100 { ... }
func countChecks(emit func(jen.Code), at target, what string, lo, hi *int, n jen.Code) {
	if lo == nil && hi == nil {
		return
	}
	msg := func(op string, b int) jen.Code {
		return at.add(jen.Lit(what+" must be "+op+" "+strconv.Itoa(b)+", got ").Op("+").Qual("strconv", "Itoa").Call(jen.Id("n")))
	}
	var st *jen.Statement
	if lo != nil && *lo > 0 {
		st = jen.If(jen.Id("n").Op(":=").Add(n), jen.Id("n").Op("<").Lit(*lo)).Block(msg(">=", *lo))
	}
	if hi != nil {
		c := jen.Id("n").Op(">").Lit(*hi)
		if st == nil {
			st = jen.If(jen.Id("n").Op(":=").Add(n), c).Block(msg("<=", *hi))
		} else {
			st = st.Else().If(c).Block(msg("<=", *hi))
		}
	}
	if st != nil {
		emit(st)
	}
}

// boundCheck emits minimum (op "<") or maximum (op ">") of a number.
//
//	if x.Quantity < 1 {
//		v.AddKey(p, "quantity", "must be >= 1, got "+rules.FormatInt(x.Quantity))
//	}
func boundCheck(emit func(jen.Code), t *ir.Type, e *jen.Statement, at target, b *float64, op, want string) {
	if b == nil {
		return
	}
	bound := strconv.FormatFloat(*b, 'g', -1, 64)
	got := jen.Qual(RulesPkg, "FormatFloat").Call(e.Clone())
	lhs, rhs := e.Clone(), jen.Lit(*b)
	if t.Kind == ir.Integer {
		got = jen.Qual(RulesPkg, "FormatInt").Call(e.Clone())
		if *b == math.Trunc(*b) && math.Abs(*b) < 1<<62 {
			rhs = jen.Lit(int(*b))
		} else {
			lhs = jen.Float64().Call(e.Clone())
		}
	}
	emit(jen.If(lhs.Op(op).Add(rhs)).Block(
		at.add(jen.Lit("must be " + want + " " + bound + ", got ").Op("+").Add(got)),
	))
}
