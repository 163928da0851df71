package emit

import (
	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// genCodecFile: INTERIM codec over encoding/json, replaced by the
// reflection-free codec in the next commit.
func genCodecFile(f *jen.File, s *ir.Schema) {
	f.Func().Params(jen.Id("x").Op("*").Id(s.GoName)).Id("DecodeJSON").Params(jen.Id("data").Index().Byte(), jen.Id("v").Op("*").Qual(RulesPkg, "Violations")).Error().Block(
		jen.Id("x").Dot("Reset").Call(),
		jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("data"), jen.Id("x")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Op("&").Qual(RulesPkg, "SyntaxError").Values(jen.Dict{jen.Id("Msg"): jen.Err().Dot("Error").Call()})),
		),
		jen.Return(jen.Nil()),
	)
	f.Func().Params(jen.Id("x").Op("*").Id(s.GoName)).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(
		jen.List(jen.Id("b"), jen.Id("_")).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("x")),
		jen.Return(jen.Append(jen.Id("dst"), jen.Id("b").Op("..."))),
	)
}
