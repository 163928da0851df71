package emit

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/protogen"
)

const (
	grpcPkg      = "google.golang.org/grpc"
	timestampPkg = "google.golang.org/protobuf/types/known/timestamppb"
)

// typedFiles emits the typed gRPC API of a bundle, with paths relative to
// outDir: the .proto files under proto/, and under typedpb/ the Go code of
// protoc-gen-go, vtprotobuf and protoc-gen-go-grpc plus, per schema
// version, the generated conversions between messages and facts and the
// service implementation that hands events to a rules.TypedSink.
func typedFiles(b *ir.Bundle, outDir string) ([]File, error) {
	factPkg := modulePath + "/" + outDir
	goImport := factPkg + "/" + typedGoDir
	m := buildProtoModel(b, goImport+";"+typedGoDir)
	sources := map[string]string{typedCommon: "schemas/ (the acks shared by every typed service)"}
	for s, ps := range m.schemas {
		sources[ps.file.Path] = s.File
	}
	var files []File
	for _, f := range m.files {
		files = append(files, File{Path: path.Join("proto", f.Path), Content: protogen.Print(f)})
	}
	out, err := protogen.Generate(m.files)
	if err != nil {
		return nil, fmt.Errorf("typed gRPC: %w", err)
	}
	for _, o := range out {
		proto := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(o.Name, "_grpc.pb.go"), "_vtproto.pb.go"), ".pb.go") + ".proto"
		head := Header + "\n// Source: " + sources[proto] + "\n\n"
		files = append(files, File{Path: path.Join(typedGoDir, path.Base(o.Name)), Content: append([]byte(head), o.Content...)})
	}
	ids, err := protogen.GoIdents(m.files)
	if err != nil {
		return nil, fmt.Errorf("typed gRPC: %w", err)
	}
	for _, s := range b.Schemas {
		c := &converter{ps: m.schemas[s], ids: ids, fact: factPkg}
		f := newFile(typedGoDir, s.File)
		c.genSchema(f, s)
		src, err := render(f)
		if err != nil {
			return nil, fmt.Errorf("%s.convert.go: %w", s.FileStem, err)
		}
		files = append(files, File{Path: path.Join(typedGoDir, s.FileStem+".convert.go"), Content: src})
	}
	reg, err := typedRegistry(b, m)
	if err != nil {
		return nil, err
	}
	return append(files, reg), nil
}

// converter emits the Go of one schema version's typed messages.
type converter struct {
	ps   *protoSchema
	ids  *protogen.Idents
	fact string // import path of the fact structs
}

func (c *converter) msg(name string) string { return c.ids.Messages[typedProtoPkg+"."+name] }

func (c *converter) field(msg, field string) string {
	return c.ids.Fields[typedProtoPkg+"."+msg+"."+field]
}

func (c *converter) genSchema(f *jen.File, s *ir.Schema) {
	f.ImportName(c.fact, path.Base(c.fact))
	for _, pe := range orderedEnums(s, c.ps) {
		c.genEnumFuncs(f, pe)
	}
	for _, o := range objects(s) {
		c.genToFact(f, o)
		c.genFromFact(f, o)
	}
	c.genEvent(f, s)
	c.genService(f, s)
}

// orderedEnums lists a schema's enums in schema order.
func orderedEnums(s *ir.Schema, ps *protoSchema) []*protoEnum {
	var out []*protoEnum
	seen := map[*protoEnum]bool{}
	var walk func(t *ir.Type)
	walk = func(t *ir.Type) {
		switch t.Kind {
		case ir.String:
			if pe := ps.enums[t]; pe != nil && !seen[pe] {
				seen[pe] = true
				out = append(out, pe)
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

// genEnumFuncs emits the two conversions of a proto enum: to the schema's
// string (an unknown number becomes a string the validator refuses, so the
// producer learns which field is wrong) and back.
//
//	func orderCreatedV1CurrencyString(v OrderCreatedV1Currency) string {
//		switch v {
//		case OrderCreatedV1Currency_ORDER_CREATED_V1_CURRENCY_EUR:
//			return generated.OrderCreatedV1CurrencyEUR
//		case 0:
//			return ""
//		}
//		return "enum value " + strconv.Itoa(int(v))
//	}
func (c *converter) genEnumFuncs(f *jen.File, pe *protoEnum) {
	typ := c.ids.Enums[typedProtoPkg+"."+pe.name]
	base := strings.ToLower(pe.name[:1]) + pe.name[1:]
	f.Commentf("%sString is the schema value of v.", base)
	f.Func().Id(base+"String").Params(jen.Id("v").Id(typ)).String().Block(
		jen.Switch(jen.Id("v")).BlockFunc(func(g *jen.Group) {
			for i, v := range pe.values {
				g.Case(jen.Id(c.ids.EnumValues[typedProtoPkg+"."+pe.consts[i]])).Return(jen.Lit(v))
			}
			g.Case(jen.Lit(0)).Return(jen.Lit(""))
		}),
		jen.Return(jen.Lit("enum value ").Op("+").Qual("strconv", "Itoa").Call(jen.Int().Call(jen.Id("v")))),
	)
	f.Commentf("%sOf is the enum value of the schema value s (unset when unknown).", base)
	f.Func().Id(base+"Of").Params(jen.Id("s").String()).Id(typ).Block(
		jen.Switch(jen.Id("s")).BlockFunc(func(g *jen.Group) {
			for i, v := range pe.values {
				g.Case(jen.Lit(v)).Return(jen.Id(c.ids.EnumValues[typedProtoPkg+"."+pe.consts[i]]))
			}
		}),
		jen.Return(jen.Lit(0)),
	)
}

// genToFact emits ToFact for an object's message.
//
//	// ToFact resets f and sets it to the data m holds (a nil m is empty data).
//	func (m *OrderCreatedV1Customer) ToFact(f *generated.OrderCreatedV1Customer) {
//		f.Reset()
//		if m == nil {
//			return
//		}
//		f.Id = m.Id
//		f.Tier = orderCreatedV1CustomerTierString(m.Tier)
//		...
//	}
func (c *converter) genToFact(f *jen.File, o *ir.ObjectType) {
	name := c.msg(c.ps.objects[o])
	f.Comment("ToFact resets f and sets it to the data m holds (a nil m is empty data).")
	f.Func().Params(jen.Id("m").Op("*").Id(name)).Id("ToFact").Params(jen.Id("f").Op("*").Qual(c.fact, o.GoName)).BlockFunc(func(g *jen.Group) {
		g.Id("f").Dot("Reset").Call()
		g.If(jen.Id("m").Op("==").Nil()).Block(jen.Return())
		for _, fl := range o.Fields {
			src := jen.Id("m").Dot(c.field(c.ps.objects[o], c.ps.fields[fl]))
			c.toFact(g, fl.Type, jen.Id("f").Dot(fl.GoName), src, fl.Required, 0)
		}
	})
}

// toFact converts the proto value src of type t into the fact lvalue dst.
func (c *converter) toFact(g *jen.Group, t *ir.Type, dst, src *jen.Statement, required bool, depth int) {
	switch t.Kind {
	case ir.String:
		if pe := c.ps.enums[t]; pe != nil {
			g.Add(dst).Op("=").Id(strings.ToLower(pe.name[:1]) + pe.name[1:] + "String").Call(src)
			return
		}
		g.Add(dst).Op("=").Add(src)
	case ir.Integer, ir.Number, ir.Boolean:
		g.Add(dst).Op("=").Add(src)
	case ir.Object:
		g.Add(src).Dot("ToFact").Call(jen.Op("&").Add(dst))
	case ir.Array:
		d := strconv.Itoa(depth)
		n, s, i, x := jen.Id("n"+d), jen.Id("s"+d), jen.Id("i"+d), jen.Id("x"+d)
		elem := c.factType(t.Items)
		var empty jen.Code = jen.Nil()
		if required {
			empty = jen.Index().Add(elem).Values()
		}
		g.If(n.Clone().Op(":=").Len(src.Clone()), n.Clone().Op(">").Lit(0)).BlockFunc(func(g *jen.Group) {
			// Reuse the capacity Reset kept.
			g.Add(s).Op(":=").Add(dst.Clone()).Index(jen.Empty(), jen.Lit(0))
			g.If(jen.Cap(s.Clone()).Op("<").Add(n.Clone())).Block(
				s.Clone().Op("=").Make(jen.Index().Add(elem), jen.Lit(0), n.Clone()),
			)
			g.Add(s.Clone()).Op("=").Add(s.Clone()).Index(jen.Empty(), n.Clone())
			g.For(jen.List(i, x).Op(":=").Range().Add(src.Clone())).BlockFunc(func(g *jen.Group) {
				inner := x.Clone()
				if t.Items.Kind == ir.Array {
					inner = x.Clone().Dot("Get" + c.field(c.ps.lists[t.Items], "items")).Call()
				}
				c.toFact(g, t.Items, s.Clone().Index(i.Clone()), inner, true, depth+1)
			})
			g.Add(dst.Clone()).Op("=").Add(s.Clone())
		}).Else().Block(jen.Add(dst.Clone()).Op("=").Add(empty))
	}
}

// factType is the Go type of a schema type in the fact package.
func (c *converter) factType(t *ir.Type) jen.Code {
	switch t.Kind {
	case ir.Object:
		return jen.Qual(c.fact, t.Object.GoName)
	case ir.Array:
		return jen.Index().Add(c.factType(t.Items))
	}
	return goType(t)
}

// protoType is the Go type of a schema type's message field element.
func (c *converter) protoType(t *ir.Type) jen.Code {
	switch t.Kind {
	case ir.String:
		if pe := c.ps.enums[t]; pe != nil {
			return jen.Id(c.ids.Enums[typedProtoPkg+"."+pe.name])
		}
	case ir.Object:
		return jen.Op("*").Id(c.msg(c.ps.objects[t.Object]))
	case ir.Array:
		return jen.Op("*").Id(c.msg(c.ps.lists[t]))
	}
	return goType(t)
}

// genFromFact emits FromFact, the inverse of ToFact, for Go clients that
// hold facts.
//
//	// FromFact sets m to the data f holds.
//	func (m *OrderCreatedV1Customer) FromFact(f *generated.OrderCreatedV1Customer) {
//		m.Reset()
//		m.Id = f.Id
//		m.Tier = orderCreatedV1CustomerTierOf(f.Tier)
//		...
//	}
func (c *converter) genFromFact(f *jen.File, o *ir.ObjectType) {
	name := c.msg(c.ps.objects[o])
	f.Comment("FromFact sets m to the data f holds.")
	f.Func().Params(jen.Id("m").Op("*").Id(name)).Id("FromFact").Params(jen.Id("f").Op("*").Qual(c.fact, o.GoName)).BlockFunc(func(g *jen.Group) {
		g.Id("m").Dot("Reset").Call()
		for _, fl := range o.Fields {
			dst := jen.Id("m").Dot(c.field(c.ps.objects[o], c.ps.fields[fl]))
			c.fromFact(g, fl.Type, dst, jen.Id("f").Dot(fl.GoName), 0)
		}
	})
}

func (c *converter) fromFact(g *jen.Group, t *ir.Type, dst, src *jen.Statement, depth int) {
	switch t.Kind {
	case ir.String:
		if pe := c.ps.enums[t]; pe != nil {
			g.Add(dst).Op("=").Id(strings.ToLower(pe.name[:1]) + pe.name[1:] + "Of").Call(src)
			return
		}
		g.Add(dst).Op("=").Add(src)
	case ir.Integer, ir.Number, ir.Boolean:
		g.Add(dst).Op("=").Add(src)
	case ir.Object:
		g.Add(dst.Clone()).Op("=").New(jen.Id(c.msg(c.ps.objects[t.Object])))
		g.Add(dst).Dot("FromFact").Call(jen.Op("&").Add(src))
	case ir.Array:
		d := strconv.Itoa(depth)
		i := jen.Id("i" + d)
		g.If(jen.Len(src.Clone()).Op(">").Lit(0)).BlockFunc(func(g *jen.Group) {
			g.Add(dst.Clone()).Op("=").Make(jen.Index().Add(c.protoType(t.Items)), jen.Len(src.Clone()))
			g.For(i.Clone().Op(":=").Range().Add(src.Clone())).BlockFunc(func(g *jen.Group) {
				el, from := dst.Clone().Index(i.Clone()), src.Clone().Index(i.Clone())
				if t.Items.Kind == ir.Array {
					list := c.msg(c.ps.lists[t.Items])
					g.Add(el.Clone()).Op("=").New(jen.Id(list))
					el = el.Clone().Dot(c.field(c.ps.lists[t.Items], "items"))
				}
				c.fromFact(g, t.Items, el, from, depth+1)
			})
		})
	}
}

// genEvent emits the envelope's conversion to a rules.TypedEvent.
//
//	// TypedEvent is the event m carries, its data as a fact.
//	func (m *OrderCreatedV1Event) TypedEvent() *rules.TypedEvent {
//		f := new(generated.OrderCreatedV1)
//		m.GetData().ToFact(f)
//		return &rules.TypedEvent{ID: m.GetId(), ..., Fact: f}
//	}
func (c *converter) genEvent(f *jen.File, s *ir.Schema) {
	ev := c.msg(c.ps.event)
	get := func(field string) *jen.Statement {
		return jen.Id("m").Dot("Get" + c.field(c.ps.event, field)).Call()
	}
	f.Commentf("TypedEvent is the %s event m carries, its data as a fact.", s.ID)
	f.Func().Params(jen.Id("m").Op("*").Id(ev)).Id("TypedEvent").Params().Op("*").Qual(RulesPkg, "TypedEvent").Block(
		jen.Id("f").Op(":=").New(jen.Qual(c.fact, s.Root.GoName)),
		get("data").Dot("ToFact").Call(jen.Id("f")),
		jen.Return(jen.Op("&").Qual(RulesPkg, "TypedEvent").Values(jen.Dict{
			jen.Id("ID"):         get("id"),
			jen.Id("Source"):     get("source"),
			jen.Id("Subject"):    get("subject"),
			jen.Id("Time"):       jen.Id("timeString").Call(get("time")),
			jen.Id("Extensions"): get("extensions"),
			jen.Id("Fact"):       jen.Id("f"),
		})),
	)
}

// genService emits the service implementation over a rules.TypedSink.
//
//	type orderCreatedV1Ingest struct {
//		UnimplementedOrderCreatedV1IngestServer
//		sink rules.TypedSink
//	}
//
//	func (s *orderCreatedV1Ingest) PublishOrderCreatedV1(ctx context.Context, m *OrderCreatedV1Event) (*Ack, error) {
//		if err := s.sink.Publish(ctx, m.TypedEvent()); err != nil {
//			return nil, err
//		}
//		return &Ack{Id: m.GetId(), Source: m.GetSource(), Status: Ack_STATUS_ACCEPTED}, nil
//	}
//
//	func (s *orderCreatedV1Ingest) StreamOrderCreatedV1(stream OrderCreatedV1Ingest_StreamOrderCreatedV1Server) error {
//		return s.sink.Stream(stream.Context(), func() (*rules.TypedEvent, error) {
//			m, err := stream.Recv()
//			if err != nil {
//				return nil, err
//			}
//			return m.TypedEvent(), nil
//		}, func(a *rules.Ack) error { return stream.Send(ackOf(a)) })
//	}
func (c *converter) genService(f *jen.File, s *ir.Schema) {
	svc := c.ps.service
	impl := strings.ToLower(svc[:1]) + svc[1:]
	ev := c.msg(c.ps.event)
	f.Commentf("%s serves %s: it converts each message to a fact and hands it to sink.", impl, svc)
	f.Type().Id(impl).Struct(
		jen.Id("Unimplemented"+svc+"Server"),
		jen.Id("sink").Qual(RulesPkg, "TypedSink"),
	)
	f.Func().Params(jen.Id("s").Op("*").Id(impl)).Id("Publish"+s.GoName).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("m").Op("*").Id(ev)).
		Params(jen.Op("*").Id("Ack"), jen.Error()).Block(
		jen.If(jen.Err().Op(":=").Id("s").Dot("sink").Dot("Publish").Call(jen.Id("ctx"), jen.Id("m").Dot("TypedEvent").Call()), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Return(jen.Op("&").Id("Ack").Values(jen.Dict{
			jen.Id("Id"):     jen.Id("m").Dot("GetId").Call(),
			jen.Id("Source"): jen.Id("m").Dot("GetSource").Call(),
			jen.Id("Status"): jen.Id("Ack_STATUS_ACCEPTED"),
		}), jen.Nil()),
	)
	f.Func().Params(jen.Id("s").Op("*").Id(impl)).Id("Stream" + s.GoName).
		Params(jen.Id("stream").Id(svc + "_Stream" + s.GoName + "Server")).Error().Block(
		jen.Return(jen.Id("s").Dot("sink").Dot("Stream").Call(
			jen.Id("stream").Dot("Context").Call(),
			jen.Func().Params().Params(jen.Op("*").Qual(RulesPkg, "TypedEvent"), jen.Error()).Block(
				jen.List(jen.Id("m"), jen.Err()).Op(":=").Id("stream").Dot("Recv").Call(),
				jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
				jen.Return(jen.Id("m").Dot("TypedEvent").Call(), jen.Nil()),
			),
			jen.Func().Params(jen.Id("a").Op("*").Qual(RulesPkg, "Ack")).Error().Block(
				jen.Return(jen.Id("stream").Dot("Send").Call(jen.Id("ackOf").Call(jen.Id("a")))),
			),
		)),
	)
}

// typedRegistry emits typedpb/registry.go: RegisterServices and the helpers
// every service shares.
//
//	func RegisterServices(s grpc.ServiceRegistrar, sink rules.TypedSink) {
//		RegisterOrderCreatedV1IngestServer(s, &orderCreatedV1Ingest{sink: sink})
//		...
//	}
func typedRegistry(b *ir.Bundle, m *protoModel) (File, error) {
	f := newFile(typedGoDir, "schemas/")
	f.Comment("RegisterServices registers the typed ingest service of every schema version\non s; each hands its events to sink.")
	f.Func().Id("RegisterServices").Params(jen.Id("s").Qual(grpcPkg, "ServiceRegistrar"), jen.Id("sink").Qual(RulesPkg, "TypedSink")).BlockFunc(func(g *jen.Group) {
		for _, s := range b.Schemas {
			svc := m.schemas[s].service
			g.Id("Register"+svc+"Server").Call(jen.Id("s"), jen.Op("&").Id(strings.ToLower(svc[:1])+svc[1:]).Values(jen.Dict{jen.Id("sink"): jen.Id("sink")}))
		}
	})
	f.Comment("ackOf is the message of an ack.")
	f.Func().Id("ackOf").Params(jen.Id("a").Op("*").Qual(RulesPkg, "Ack")).Op("*").Id("Ack").Block(
		jen.Id("m").Op(":=").Op("&").Id("Ack").Values(jen.Dict{
			jen.Id("Id"):     jen.Id("a").Dot("ID"),
			jen.Id("Source"): jen.Id("a").Dot("Source"),
			jen.Id("Status"): jen.Id("Ack_Status").Call(jen.Id("a").Dot("Status")),
			jen.Id("Code"):   jen.Int32().Call(jen.Id("a").Dot("Code")),
			jen.Id("Error"):  jen.Id("a").Dot("Error"),
			jen.Id("Field"):  jen.Id("a").Dot("Field"),
		}),
		jen.For(jen.List(jen.Id("_"), jen.Id("v")).Op(":=").Range().Id("a").Dot("Violations")).Block(
			jen.Id("m").Dot("Violations").Op("=").Append(jen.Id("m").Dot("Violations"), jen.Op("&").Id("Violation").Values(jen.Dict{
				jen.Id("Field"):       jen.Lit("data.").Op("+").Id("v").Dot("Path"),
				jen.Id("Description"): jen.Id("v").Dot("Message"),
			})),
		),
		jen.Return(jen.Id("m")),
	)
	f.Comment("timeString is a CloudEvent time attribute: RFC 3339 in UTC, empty when unset.")
	f.Func().Id("timeString").Params(jen.Id("t").Op("*").Qual(timestampPkg, "Timestamp")).String().Block(
		jen.If(jen.Id("t").Op("==").Nil()).Block(jen.Return(jen.Lit(""))),
		jen.Return(jen.Id("t").Dot("AsTime").Call().Dot("Format").Call(jen.Qual("time", "RFC3339Nano"))),
	)
	src, err := render(f)
	if err != nil {
		return File{}, fmt.Errorf("typedpb/registry.go: %w", err)
	}
	return File{Path: path.Join(typedGoDir, "registry.go"), Content: src}, nil
}
