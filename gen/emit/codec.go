package emit

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// The codec is plain Go over rules.Lexer: a switch on each key, one Read call
// per scalar, loops for arrays. Its contract (runtime/rules/fact.go): nothing
// decoded without error or violation is lost or changed when AppendJSON
// writes it back. Where encoding/json would lose or mangle data the codec
// refuses it or keeps it instead:
//
//   - a member name matches a property exactly, byte for byte after
//     unescaping (encoding/json falls back to a case-insensitive match);
//   - a member that appears twice is a violation (encoding/json keeps the
//     last);
//   - members the schema allows but does not name are kept, as sent, in the
//     object's rules.Extra and written back after the named ones
//     (encoding/json drops them);
//   - an optional property sent with its zero value ("alert": false) is
//     recorded in the object's presence bits and written back (omitzero
//     alone would drop it);
//   - strings that are not valid UTF-8 or hold unpaired surrogates are
//     violations (encoding/json substitutes U+FFFD);
//   - an integer may be written 10.0 or 1e1, as JSON Schema allows, and is
//     written back as 10.
//
// Otherwise the struct equals what encoding/json.Unmarshal produces for the
// named properties, and AppendJSON writes json.Marshal's bytes for them:
// arrays decode into the existing elements and `[]` yields an empty non-nil
// slice.

// names hands out unexported package-level names unique within a schema's
// files (the exported ones are checked by the loader).
type names struct{ used map[string]int }

func (n *names) get(base string) string {
	if n.used == nil {
		n.used = map[string]int{}
	}
	base = strings.ToLower(base[:1]) + base[1:]
	n.used[base]++
	if c := n.used[base]; c > 1 {
		return base + strconv.Itoa(c)
	}
	return base
}

// enumVars names the []string of every enum type's values, which the decoder
// interns strings from.
func enumVars(s *ir.Schema, nm *names) map[*ir.Type]string {
	out := map[*ir.Type]string{}
	var walk func(t *ir.Type)
	walk = func(t *ir.Type) {
		switch t.Kind {
		case ir.String:
			if len(t.Enum) > 0 {
				prefix := strings.TrimSuffix(t.EnumNames[0], goSuffixOf(t.EnumNames[0], t.Enum[0]))
				out[t] = nm.get(prefix + "Values")
			}
		case ir.Object:
			for _, f := range t.Object.Fields {
				walk(f.Type)
			}
		case ir.Array:
			walk(t.Items)
		}
	}
	walk(objType(s.Root))
	return out
}

// goSuffixOf returns the tail of a constant name that names the enum value
// (the loader appends the CamelCased value to a common prefix).
func goSuffixOf(name, value string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(value, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 127)
	}) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	if strings.HasSuffix(name, b.String()) {
		return b.String()
	}
	return ""
}

func genCodecFile(f *jen.File, s *ir.Schema) {
	nm := &names{}
	enums := enumVars(s, nm)
	genEnumTables(f, s, enums)
	genDecodeEntry(f, s)
	for _, o := range objects(s) {
		genDecodeObject(f, o, enums)
		if hasSlices(objType(o)) {
			genNormalize(f, o)
		}
	}
	for _, o := range objects(s) {
		genIsZero(f, o)
		genAppendObject(f, o)
	}
}

// genEnumTables declares the enum value tables in declaration order.
//
//	var orderCreatedV1CurrencyValues = []string{OrderCreatedV1CurrencyEUR, ...}
func genEnumTables(f *jen.File, s *ir.Schema, enums map[*ir.Type]string) {
	var walk func(t *ir.Type)
	walk = func(t *ir.Type) {
		switch t.Kind {
		case ir.String:
			if name, ok := enums[t]; ok {
				f.Var().Id(name).Op("=").Index().String().ValuesFunc(func(g *jen.Group) {
					for _, c := range t.EnumNames {
						g.Id(c)
					}
				})
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

// genDecodeEntry emits the exported DecodeJSON of the fact.
//
//	func (x *OrderCreatedV1) DecodeJSON(data []byte, v *rules.Violations) error {
//		x.Reset()
//		var l rules.Lexer
//		l.Reset(data)
//		x.decodeJSON(&l, nil, v)
//		if err := l.Finish(); err != nil {
//			return err
//		}
//		x.normalize()
//		return nil
//	}
func genDecodeEntry(f *jen.File, s *ir.Schema) {
	f.Comment("DecodeJSON resets x and decodes an event's data into it. Malformed JSON is")
	f.Comment("returned as a *rules.SyntaxError; wrong types, missing required properties")
	f.Comment("unknown properties (where not allowed), duplicate members and strings that")
	f.Comment("are not valid UTF-8 are appended to v.")
	f.Func().Params(jen.Id("x").Op("*").Id(s.GoName)).Id("DecodeJSON").
		Params(jen.Id("data").Index().Byte(), jen.Id("v").Op("*").Qual(RulesPkg, "Violations")).Error().
		BlockFunc(func(g *jen.Group) {
			g.Id("x").Dot("Reset").Call()
			g.Var().Id("l").Qual(RulesPkg, "Lexer")
			g.Id("l").Dot("Reset").Call(jen.Id("data"))
			g.Id("x").Dot("decodeJSON").Call(jen.Op("&").Id("l"), jen.Nil(), jen.Id("v"))
			g.If(jen.Err().Op(":=").Id("l").Dot("Finish").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
			if hasSlices(objType(s.Root)) {
				g.Id("x").Dot("normalize").Call()
			}
			g.Return(jen.Nil())
		})
}

var (
	lexerParam = jen.Id("l").Op("*").Qual(RulesPkg, "Lexer")
	pathParam  = jen.Id("p").Op("*").Qual(RulesPkg, "JSONPath")
	violParam  = jen.Id("v").Op("*").Qual(RulesPkg, "Violations")
)

// genDecodeObject emits the decoder of one object type. Every property has
// a bit in x.present: rules.Lexer.First sets it and refuses a second
// occurrence; required properties are checked against it at the end.
//
//	func (x *OrderCreatedV1Customer) decodeJSON(l *rules.Lexer, p *rules.JSONPath, v *rules.Violations) {
//		if !l.BeginObject(p, v) {
//			return
//		}
//		for l.NextKey() {
//			switch string(l.Key()) {
//			case "id":
//				if l.First(&x.present[0], 1<<0, p, v) {
//					fp := p.Key("id")
//					l.ReadString(&x.Id, &fp, v)
//				}
//			...
//			default:
//				l.ReadExtra(&x.extra, p, v) // or l.UnknownKey(p, v)
//			}
//		}
//		if l.Err() != nil {
//			return
//		}
//		if x.present[0]&(1<<0) == 0 {
//			v.AddKey(p, "id", "is required")
//		}
//		...
//	}
func genDecodeObject(f *jen.File, o *ir.ObjectType, enums map[*ir.Type]string) {
	f.Func().Params(jen.Id("x").Op("*").Id(o.GoName)).Id("decodeJSON").Params(lexerParam, pathParam, violParam).BlockFunc(func(g *jen.Group) {
		g.If(jen.Op("!").Id("l").Dot("BeginObject").Call(jen.Id("p"), jen.Id("v"))).Block(jen.Return())
		g.For(jen.Id("l").Dot("NextKey").Call()).Block(
			jen.Switch(jen.String().Parens(jen.Id("l").Dot("Key").Call())).BlockFunc(func(g *jen.Group) {
				for i, fl := range o.Fields {
					w, m := presentBit(i)
					g.Case(jen.Lit(fl.Name)).Block(
						jen.If(jen.Id("l").Dot("First").Call(jen.Op("&").Add(w), m, jen.Id("p"), jen.Id("v"))).BlockFunc(func(g *jen.Group) {
							decodeField(g, fl, enums)
						}),
					)
				}
				g.Default().BlockFunc(func(g *jen.Group) {
					if o.AdditionalProperties {
						g.Id("l").Dot("ReadExtra").Call(jen.Op("&").Id("x").Dot("extra"), jen.Id("p"), jen.Id("v"))
					} else {
						g.Id("l").Dot("UnknownKey").Call(jen.Id("p"), jen.Id("v"))
					}
				})
			}),
		)
		var required []int
		for i, fl := range o.Fields {
			if fl.Required {
				required = append(required, i)
			}
		}
		if len(required) == 0 {
			return
		}
		g.If(jen.Id("l").Dot("Err").Call().Op("!=").Nil()).Block(jen.Return())
		for _, i := range required {
			w, m := presentBit(i)
			g.If(jen.Add(w).Op("&").Add(m).Op("==").Lit(0)).Block(
				jen.Id("v").Dot("AddKey").Call(jen.Id("p"), jen.Lit(o.Fields[i].Name), jen.Lit("is required")),
			)
		}
	})
}

// presentBit is the word of x.present and the mask of property i's bit.
func presentBit(i int) (*jen.Statement, *jen.Statement) {
	return jen.Id("x").Dot("present").Index(jen.Lit(i / 64)), jen.Parens(jen.Lit(1).Op("<<").Lit(i % 64))
}

// presentWords is the length of an object's presence bit set.
func presentWords(o *ir.ObjectType) int { return (len(o.Fields) + 63) / 64 }

// writtenExpr is the condition under which optional property i of o
// (field fl) is written and validated: when it was present in the input
// or holds a value other than the zero value (a rule set it). An array is
// written when not nil: the decoder leaves an absent one nil and a sent
// `[]` empty but not nil.
func writtenExpr(i int, fl *ir.Field) *jen.Statement {
	e := jen.Id("x").Dot(fl.GoName)
	if fl.Type.Kind == ir.Array {
		return nonZeroExpr(fl.Type, e)
	}
	w, m := presentBit(i)
	return jen.Add(w).Op("&").Add(m).Op("!=").Lit(0).Op("||").Add(nonZeroExpr(fl.Type, e))
}

// decodeField reads the value of one property into its field.
func decodeField(g *jen.Group, fl *ir.Field, enums map[*ir.Type]string) {
	g.Id("fp").Op(":=").Id("p").Dot("Key").Call(jen.Lit(fl.Name))
	decodeValue(g, fl.Type, jen.Id("x").Dot(fl.GoName), "fp", 0, enums)
}

// decodeValue reads a value of type t into dst (an addressable expression)
// with its path in the variable path; depth keeps loop variables apart.
//
// Arrays decode like encoding/json: into the existing elements first, then
// into the spare capacity (elements Reset left there), then appending; an
// empty array is an empty non-nil slice.
//
//	if l.BeginArray(&fp, v) {
//		s0 := x.Items
//		i0 := 0
//		for ; l.NextItem(); i0++ {
//			if i0 == len(s0) {
//				if i0 < cap(s0) {
//					s0 = s0[:i0+1]
//				} else {
//					s0 = append(s0, OrderCreatedV1LineItem{})
//				}
//			}
//			ip0 := fp.Index(i0)
//			s0[i0].decodeJSON(l, &ip0, v)
//		}
//		if i0 == 0 {
//			s0 = []OrderCreatedV1LineItem{}
//		}
//		x.Items = s0[:i0]
//	}
func decodeValue(g *jen.Group, t *ir.Type, dst *jen.Statement, path string, depth int, enums map[*ir.Type]string) {
	ptr := jen.Op("&").Id(path)
	addr := jen.Op("&").Add(dst.Clone())
	switch t.Kind {
	case ir.String:
		if name, ok := enums[t]; ok {
			g.Id("l").Dot("ReadEnum").Call(addr, jen.Id(name), ptr, jen.Id("v"))
		} else {
			g.Id("l").Dot("ReadString").Call(addr, ptr, jen.Id("v"))
		}
	case ir.Integer:
		g.Id("l").Dot("ReadInt").Call(addr, ptr, jen.Id("v"))
	case ir.Number:
		g.Id("l").Dot("ReadFloat").Call(addr, ptr, jen.Id("v"))
	case ir.Boolean:
		g.Id("l").Dot("ReadBool").Call(addr, ptr, jen.Id("v"))
	case ir.Object:
		g.Add(dst.Clone()).Dot("decodeJSON").Call(jen.Id("l"), ptr, jen.Id("v"))
	case ir.Array:
		d := strconv.Itoa(depth)
		s, i, ip := "s"+d, "i"+d, "ip"+d
		g.If(jen.Id("l").Dot("BeginArray").Call(ptr, jen.Id("v"))).BlockFunc(func(g *jen.Group) {
			g.Id(s).Op(":=").Add(dst.Clone())
			g.Id(i).Op(":=").Lit(0)
			g.For(jen.Empty(), jen.Id("l").Dot("NextItem").Call(), jen.Id(i).Op("++")).BlockFunc(func(g *jen.Group) {
				g.If(jen.Id(i).Op("==").Len(jen.Id(s))).Block(
					jen.If(jen.Id(i).Op("<").Cap(jen.Id(s))).Block(
						jen.Id(s).Op("=").Id(s).Index(jen.Empty(), jen.Id(i).Op("+").Lit(1)),
					).Else().Block(
						jen.Id(s).Op("=").Append(jen.Id(s), zeroValue(t.Items)),
					),
				)
				g.Id(ip).Op(":=").Id(path).Dot("Index").Call(jen.Id(i))
				decodeValue(g, t.Items, jen.Id(s).Index(jen.Id(i)), ip, depth+1, enums)
			})
			g.If(jen.Id(i).Op("==").Lit(0)).Block(
				jen.Id(s).Op("=").Add(goType(t)).Values(),
			)
			g.Add(dst.Clone()).Op("=").Id(s).Index(jen.Empty(), jen.Id(i))
		})
	}
}

// zeroValue is the zero value of t as an expression.
func zeroValue(t *ir.Type) jen.Code {
	switch t.Kind {
	case ir.String:
		return jen.Lit("")
	case ir.Integer, ir.Number:
		return jen.Lit(0)
	case ir.Boolean:
		return jen.False()
	case ir.Object:
		return jen.Id(t.Object.GoName).Values()
	}
	return jen.Nil()
}

// genNormalize emits normalize, run after decoding: a slice that is empty
// but has capacity was left by Reset and not filled by this event, so it
// becomes nil — what a fresh decode (and encoding/json) leaves for an absent
// array, and what omitzero omits. (An array present as `[]` decodes to a
// zero-capacity slice and stays.)
//
//	func (x *OrderCreatedV1) normalize() {
//		if len(x.Items) == 0 && cap(x.Items) > 0 {
//			x.Items = nil
//		}
//		for i := range x.Items {
//			x.Items[i].normalize()
//		}
//	}
func genNormalize(f *jen.File, o *ir.ObjectType) {
	f.Func().Params(jen.Id("x").Op("*").Id(o.GoName)).Id("normalize").Params().BlockFunc(func(g *jen.Group) {
		for _, fl := range o.Fields {
			normalizeValue(g, fl.Type, jen.Id("x").Dot(fl.GoName), 0)
		}
	})
}

func normalizeValue(g *jen.Group, t *ir.Type, e *jen.Statement, depth int) {
	if !hasSlices(t) {
		return
	}
	if t.Kind == ir.Object {
		g.Add(e.Clone()).Dot("normalize").Call()
		return
	}
	g.If(jen.Len(e.Clone()).Op("==").Lit(0).Op("&&").Cap(e.Clone()).Op(">").Lit(0)).Block(
		jen.Add(e.Clone()).Op("=").Nil(),
	)
	if hasSlices(t.Items) {
		i := "i" + strconv.Itoa(depth)
		g.For(jen.Id(i).Op(":=").Range().Add(e.Clone())).BlockFunc(func(g *jen.Group) {
			normalizeValue(g, t.Items, e.Clone().Index(jen.Id(i)), depth+1)
		})
	}
}

// genIsZero emits isZero, the omitzero test of a struct field of this type:
// nothing to write, no property present in the input and no extra member.
//
//	func (x *OrderCreatedV1Address) isZero() bool {
//		return x.Line1 == "" && x.City == "" && x.PostalCode == "" && x.Country == "" &&
//			x.present == [1]uint64{} && x.extra.Len() == 0
//	}
func genIsZero(f *jen.File, o *ir.ObjectType) {
	var terms []jen.Code
	for _, fl := range o.Fields {
		terms = append(terms, isZeroExpr(fl.Type, jen.Id("x").Dot(fl.GoName)))
	}
	if n := presentWords(o); n > 0 {
		terms = append(terms, jen.Id("x").Dot("present").Op("==").Index(jen.Lit(n)).Uint64().Values())
	}
	if o.AdditionalProperties {
		terms = append(terms, jen.Id("x").Dot("extra").Dot("Len").Call().Op("==").Lit(0))
	}
	expr := jen.True()
	for i, t := range terms {
		if i == 0 {
			expr = jen.Add(t)
		} else {
			expr = expr.Op("&&").Add(t)
		}
	}
	f.Func().Params(jen.Id("x").Op("*").Id(o.GoName)).Id("isZero").Params().Bool().Block(jen.Return(expr))
}

func isZeroExpr(t *ir.Type, e *jen.Statement) *jen.Statement {
	switch t.Kind {
	case ir.String:
		return e.Op("==").Lit("")
	case ir.Integer, ir.Number:
		return e.Op("==").Lit(0)
	case ir.Boolean:
		return jen.Op("!").Add(e)
	case ir.Object:
		return e.Dot("isZero").Call()
	}
	return e.Op("==").Nil()
}

// nonZeroExpr is the negation of isZeroExpr, written plainly.
func nonZeroExpr(t *ir.Type, e *jen.Statement) *jen.Statement {
	switch t.Kind {
	case ir.String:
		return e.Op("!=").Lit("")
	case ir.Integer, ir.Number:
		return e.Op("!=").Lit(0)
	case ir.Boolean:
		return e
	case ir.Object:
		return jen.Op("!").Add(e).Dot("isZero").Call()
	}
	return e.Op("!=").Nil()
}

// jsonKey is a property's key as json.Marshal writes it: the quoted,
// HTML-escaped name and the colon.
func jsonKey(name string) string {
	b, err := json.Marshal(name)
	if err != nil {
		panic(err)
	}
	return string(b) + ":"
}

// genAppendObject emits AppendJSON. Fields come in schema order; a
// required field is always written, an optional one when it was present in
// the input or is not zero (writtenExpr); the extra members follow. A comma
// is static once a required field has been written.
//
//	func (x *OrderCreatedV1Customer) AppendJSON(dst []byte) []byte {
//		dst = append(dst, `{"id":`...)
//		dst = rules.AppendString(dst, x.Id)
//		dst = append(dst, `,"email":`...)
//		dst = rules.AppendString(dst, x.Email)
//		if x.Country != "" {
//			dst = append(dst, `,"country":`...)
//			dst = rules.AppendString(dst, x.Country)
//		}
//		return append(dst, '}')
//	}
func genAppendObject(f *jen.File, o *ir.ObjectType) {
	f.Comment("AppendJSON appends x as JSON: the properties in schema order, each optional one")
	f.Comment("if it was present in the input or is not zero, then the members the schema does")
	f.Comment("not name, as they were sent.")
	f.Func().Params(jen.Id("x").Op("*").Id(o.GoName)).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().BlockFunc(func(g *jen.Group) {
		// written: a field has certainly been written before this one, so
		// the comma is static; maybe: only optional ones may have been, so
		// the comma depends on whether dst grew past start. pending holds
		// literal bytes not yet appended, merged into the next append.
		written, maybe, pending := false, false, "{"
		dynComma := func() jen.Code {
			return jen.If(jen.Len(jen.Id("dst")).Op(">").Id("start")).Block(
				jen.Id("dst").Op("=").Append(jen.Id("dst"), jen.LitRune(',')),
			)
		}
		for i, fl := range o.Fields {
			e := jen.Id("x").Dot(fl.GoName)
			key := jsonKey(fl.Name)
			if !fl.Required && pending != "" {
				g.Add(appendLit(pending))
				pending = ""
			}
			if !fl.Required && !written && !maybe {
				g.Id("start").Op(":=").Len(jen.Id("dst"))
				maybe = true
			}
			var stmts []jen.Code
			switch {
			case written:
				stmts = append(stmts, appendLit(pending+","+key))
			case maybe:
				stmts = append(stmts, dynComma(), appendLit(key))
			default:
				stmts = append(stmts, appendLit(pending+key))
			}
			pending = ""
			stmts = append(stmts, appendValue(fl.Type, e, 0, !fl.Required)...)
			if fl.Required {
				addAll(g, stmts)
				written = true
				continue
			}
			g.If(writtenExpr(i, fl)).Block(stmts...)
		}
		if o.AdditionalProperties {
			g.Add(appendLit(pending))
			pending = ""
			var comma jen.Code = jen.True()
			if !written {
				if !maybe {
					g.Id("start").Op(":=").Len(jen.Id("dst"))
				}
				comma = jen.Len(jen.Id("dst")).Op(">").Id("start")
			}
			g.Id("dst").Op("=").Id("x").Dot("extra").Dot("AppendMembers").Call(jen.Id("dst"), comma)
		}
		g.Return(jen.Append(jen.Id("dst"), jen.Lit(pending+"}").Op("...")))
	})
}

// addAll adds each code as its own statement.
func addAll(g *jen.Group, stmts []jen.Code) {
	for _, s := range stmts {
		g.Add(s)
	}
}

func appendLit(s string) jen.Code {
	if s == "" {
		return jen.Null()
	}
	if len(s) == 1 {
		return jen.Id("dst").Op("=").Append(jen.Id("dst"), jen.LitRune(rune(s[0])))
	}
	return jen.Id("dst").Op("=").Append(jen.Id("dst"), jen.Lit(s).Op("..."))
}

// appendValue appends the JSON of e (of type t); nonNil says that e, if a
// slice, is known not to be nil.
func appendValue(t *ir.Type, e *jen.Statement, depth int, nonNil bool) []jen.Code {
	set := func(fn string) []jen.Code {
		return []jen.Code{jen.Id("dst").Op("=").Qual(RulesPkg, fn).Call(jen.Id("dst"), e.Clone())}
	}
	switch t.Kind {
	case ir.String:
		return set("AppendString")
	case ir.Integer:
		return set("AppendInt")
	case ir.Number:
		return set("AppendFloat")
	case ir.Boolean:
		return set("AppendBool")
	case ir.Object:
		return []jen.Code{jen.Id("dst").Op("=").Add(e.Clone()).Dot("AppendJSON").Call(jen.Id("dst"))}
	}
	// Arrays: nil is null, as json.Marshal writes a nil slice.
	i := "i" + strconv.Itoa(depth)
	elems := []jen.Code{
		appendLit("["),
		jen.For(jen.Id(i).Op(":=").Range().Add(e.Clone())).BlockFunc(func(g *jen.Group) {
			g.If(jen.Id(i).Op(">").Lit(0)).Block(appendLit(","))
			addAll(g, appendValue(t.Items, e.Clone().Index(jen.Id(i)), depth+1, false))
		}),
		appendLit("]"),
	}
	if nonNil {
		return elems
	}
	return []jen.Code{jen.If(e.Clone().Op("==").Nil()).Block(appendLit("null")).Else().Block(elems...)}
}
