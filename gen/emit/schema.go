package emit

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// schemaFiles emits the three files of one schema version: the fact types,
// their JSON codec and their validator.
func schemaFiles(s *ir.Schema, pkg string) ([]File, error) {
	gens := []struct {
		suffix string
		gen    func(*jen.File, *ir.Schema)
	}{
		{".fact.go", genFactFile},
		{".codec.go", genCodecFile},
		{".validate.go", genValidateFile},
	}
	var files []File
	for _, g := range gens {
		f := newFile(pkg, s.File)
		g.gen(f, s)
		src, err := render(f)
		if err != nil {
			return nil, fmt.Errorf("%s%s: %w", s.FileStem, g.suffix, err)
		}
		files = append(files, File{Path: s.FileStem + g.suffix, Content: src})
	}
	return files, nil
}

// newFile starts a generated file: the header, the source line and the
// version guard that makes output of a stale generator fail to compile.
func newFile(pkg, source string) *jen.File {
	f := jen.NewFile(pkg)
	f.HeaderComment(strings.TrimPrefix(Header, "// "))
	f.HeaderComment("Source: " + source)
	f.ImportName(RulesPkg, "rules")
	// const _ = rules.GeneratedVersion2
	f.Const().Id("_").Op("=").Qual(RulesPkg, "GeneratedVersion2")
	return f
}

// render formats a file (jennifer runs go/format).
func render(f *jen.File) ([]byte, error) {
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// objects lists the object types of a schema depth-first in schema order,
// the root first.
func objects(s *ir.Schema) []*ir.ObjectType {
	var out []*ir.ObjectType
	var walkType func(t *ir.Type)
	var walk func(o *ir.ObjectType)
	walkType = func(t *ir.Type) {
		switch t.Kind {
		case ir.Object:
			walk(t.Object)
		case ir.Array:
			walkType(t.Items)
		}
	}
	walk = func(o *ir.ObjectType) {
		out = append(out, o)
		for _, f := range o.Fields {
			walkType(f.Type)
		}
	}
	walk(s.Root)
	return out
}

// goType is the Go type of a schema type.
func goType(t *ir.Type) jen.Code {
	switch t.Kind {
	case ir.String:
		return jen.String()
	case ir.Integer:
		return jen.Int64()
	case ir.Number:
		return jen.Float64()
	case ir.Boolean:
		return jen.Bool()
	case ir.Object:
		return jen.Id(t.Object.GoName)
	case ir.Array:
		return jen.Index().Add(goType(t.Items))
	}
	panic(fmt.Sprintf("emit: unknown kind %v", t.Kind))
}

// hasSlices reports whether a value of t holds slices, whose capacity Reset
// keeps.
func hasSlices(t *ir.Type) bool {
	switch t.Kind {
	case ir.Array:
		return true
	case ir.Object:
		for _, f := range t.Object.Fields {
			if hasSlices(f.Type) {
				return true
			}
		}
	}
	return false
}

// keepsCap reports whether a value of t holds slices or extra members,
// whose capacity Reset keeps.
func keepsCap(t *ir.Type) bool {
	switch t.Kind {
	case ir.Array:
		return true
	case ir.Object:
		if t.Object.AdditionalProperties {
			return true
		}
		for _, f := range t.Object.Fields {
			if keepsCap(f.Type) {
				return true
			}
		}
	}
	return false
}

func objType(o *ir.ObjectType) *ir.Type { return &ir.Type{Kind: ir.Object, Object: o} }

// comment renders text as line comments (one per line of text).
func comment(text string) jen.Code {
	st := jen.Null()
	for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if i > 0 {
			st.Line()
		}
		st.Comment(strings.TrimRight(l, " \t"))
	}
	return st
}

func genFactFile(f *jen.File, s *ir.Schema) {
	genEnums(f, s)
	for i, o := range objects(s) {
		genStruct(f, s, o, i == 0)
		genReset(f, o)
	}
	genSchemaVar(f, s)
}

// genEnums declares the constants of every string enum.
func genEnums(f *jen.File, s *ir.Schema) {
	var walk func(t *ir.Type, path string)
	walk = func(t *ir.Type, path string) {
		switch t.Kind {
		case ir.String:
			if len(t.Enum) == 0 {
				return
			}
			f.Comment(fmt.Sprintf("Values of %s in %s.", path, s.ID))
			f.Const().DefsFunc(func(g *jen.Group) {
				for i, v := range t.Enum {
					g.Id(t.EnumNames[i]).Op("=").Lit(v)
				}
			})
		case ir.Object:
			for _, fl := range t.Object.Fields {
				walk(fl.Type, path+"."+fl.Name)
			}
		case ir.Array:
			walk(t.Items, path+"[]")
		}
	}
	walk(objType(s.Root), "$")
}

// genStruct declares one object type.
func genStruct(f *jen.File, s *ir.Schema, o *ir.ObjectType, root bool) {
	var doc strings.Builder
	if root {
		fmt.Fprintf(&doc, "%s is the data of a %s event\n(%s).", o.GoName, s.ID, s.File)
	} else {
		fmt.Fprintf(&doc, "%s is an object in %s events.", o.GoName, s.ID)
	}
	if o.Description != "" {
		doc.WriteString("\n\n" + o.Description)
	}
	doc.WriteString("\n\nAn optional property is written when it was present in the event or its\nfield holds a value other than the zero value.")
	if o.AdditionalProperties {
		doc.WriteString(" Members the schema does not name are kept\nas sent and written after the others.")
	}
	f.Add(comment(doc.String()))
	f.Type().Id(o.GoName).StructFunc(func(g *jen.Group) {
		for _, fl := range o.Fields {
			if d := fieldDoc(fl); d != "" {
				g.Add(comment(d))
			}
			tag := fl.Name
			if !fl.Required {
				tag += ",omitzero"
			}
			g.Id(fl.GoName).Add(goType(fl.Type)).Tag(map[string]string{"json": tag})
		}
		// Unexported, so that neither GRL (compiled or grule) nor
		// encoding/json sees them.
		if n := presentWords(o); n > 0 {
			g.Comment("present has a bit per property, set when the event held it.")
			g.Id("present").Index(jen.Lit(n)).Uint64()
		}
		if o.AdditionalProperties {
			g.Comment("extra holds the members the schema does not name, as sent.")
			g.Id("extra").Qual(RulesPkg, "Extra")
		}
	})
}

// fieldDoc is a field's description plus its constraints in schema terms,
// so that rule authors see them where they read the struct.
func fieldDoc(fl *ir.Field) string {
	var cs []string
	if fl.Required {
		cs = append(cs, "required")
	}
	cs = append(cs, constraints(fl.Type)...)
	d := fl.Description
	if len(cs) > 0 {
		if d != "" {
			d += "\n\n"
		}
		d += "Schema: " + strings.Join(cs, ", ") + "."
	}
	return d
}

func constraints(t *ir.Type) []string {
	var cs []string
	num := func(k string, p *float64) {
		if p != nil {
			cs = append(cs, k+" "+strconv.FormatFloat(*p, 'g', -1, 64))
		}
	}
	count := func(k string, p *int) {
		if p != nil {
			cs = append(cs, k+" "+strconv.Itoa(*p))
		}
	}
	if t.Format != "" {
		cs = append(cs, "format "+t.Format)
	}
	if len(t.Enum) > 0 {
		cs = append(cs, "enum "+strings.Join(quoteAll(t.Enum), " "))
	}
	num("minimum", t.Minimum)
	num("maximum", t.Maximum)
	count("minLength", t.MinLength)
	count("maxLength", t.MaxLength)
	count("minItems", t.MinItems)
	count("maxItems", t.MaxItems)
	if t.Pattern != "" {
		cs = append(cs, "pattern "+strconv.Quote(t.Pattern))
	}
	if t.Kind == ir.Array {
		if ic := constraints(t.Items); len(ic) > 0 {
			cs = append(cs, "items: "+strings.Join(ic, ", "))
		}
	}
	return cs
}

func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.Quote(v)
	}
	return out
}

// genReset emits Reset, which zeroes the value (presence bits included) but
// keeps the capacity of every slice and extra member set, nested ones
// included, so that a pooled fact decodes the next
// event without allocating. Elements past a slice's length are reset too:
// the decoder reuses them in place.
//
//	func (x *OrderCreatedV1) Reset() {
//		keepItems := rules.KeepCap(x.Items)
//		for i := range keepItems[:cap(keepItems)] {
//			keepItems[i].Reset()
//		}
//		keepCustomer := x.Customer
//		keepCustomer.Reset()
//		*x = OrderCreatedV1{Customer: keepCustomer, Items: keepItems}
//	}
func genReset(f *jen.File, o *ir.ObjectType) {
	f.Comment("Reset zeroes x but keeps the capacity of its slices and extra members, nested")
	f.Comment("ones included.")
	f.Func().Params(jen.Id("x").Op("*").Id(o.GoName)).Id("Reset").Params().BlockFunc(func(g *jen.Group) {
		keep := jen.Dict{}
		if o.AdditionalProperties {
			// Not keep<Field>: a property "extra" has that name.
			g.Id("extra").Op(":=").Id("x").Dot("extra")
			g.Id("extra").Dot("Reset").Call()
			keep[jen.Id("extra")] = jen.Id("extra")
		}
		for _, fl := range o.Fields {
			if !keepsCap(fl.Type) {
				continue
			}
			v := "keep" + fl.GoName
			keep[jen.Id(fl.GoName)] = jen.Id(v)
			if fl.Type.Kind == ir.Object {
				g.Id(v).Op(":=").Id("x").Dot(fl.GoName)
				g.Id(v).Dot("Reset").Call()
				continue
			}
			g.Id(v).Op(":=").Qual(RulesPkg, "KeepCap").Call(jen.Id("x").Dot(fl.GoName))
			resetElems(g, v, fl.Type.Items)
		}
		g.Op("*").Id("x").Op("=").Id(o.GoName).Values(keep)
	})
}

// resetElems resets the elements of slice s over its whole capacity.
func resetElems(g *jen.Group, s string, item *ir.Type) {
	all := jen.Id(s).Index(jen.Empty(), jen.Cap(jen.Id(s)))
	switch {
	case item.Kind == ir.Object && keepsCap(item):
		// Indexed through [:cap]: KeepCap emptied s.
		g.For(jen.Id("i").Op(":=").Range().Add(all)).Block(
			jen.Add(all.Clone()).Index(jen.Id("i")).Dot("Reset").Call(),
		)
	case item.Kind != ir.Array:
		// Zero the spare elements too: the decoder fills them in place, and
		// an element whose value was refused must read as zero, not as the
		// previous event's (cleared strings can also be collected).
		g.Clear(all)
	case item.Kind == ir.Array:
		g.For(jen.Id("i").Op(":=").Range().Add(all)).BlockFunc(func(g *jen.Group) {
			g.Id("e").Op(":=").Qual(RulesPkg, "KeepCap").Call(jen.Add(all.Clone()).Index(jen.Id("i")))
			resetElems(g, "e", item.Items)
			g.Add(all.Clone()).Index(jen.Id("i")).Op("=").Id("e")
		})
	}
}

// genSchemaVar emits SchemaID and the schema descriptor.
//
//	func (*OrderCreatedV1) SchemaID() string { return "com.acme.order.created/v1" }
//
//	var OrderCreatedV1Schema = &rules.Schema{ID: ..., New: func() rules.Fact { return new(OrderCreatedV1) }}
func genSchemaVar(f *jen.File, s *ir.Schema) {
	f.Comment("SchemaID names the schema version of the fact.")
	f.Func().Params(jen.Op("*").Id(s.GoName)).Id("SchemaID").Params().String().Block(
		jen.Return(jen.Lit(s.ID)),
	)
	f.Commentf("%sSchema describes %s for the registry.", s.GoName, s.ID)
	f.Var().Id(s.GoName+"Schema").Op("=").Op("&").Qual(RulesPkg, "Schema").Values(jen.Dict{
		jen.Id("ID"):      jen.Lit(s.ID),
		jen.Id("Type"):    jen.Lit(s.Type),
		jen.Id("Version"): jen.Lit(s.Version),
		jen.Id("Hash"):    jen.Lit(s.Hash),
		jen.Id("File"):    jen.Lit(s.File),
		jen.Id("New"): jen.Func().Params().Qual(RulesPkg, "Fact").Block(
			jen.Return(jen.New(jen.Id(s.GoName))),
		),
	})
}
