package emit

import (
	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// genValidateFile: INTERIM, replaced by the generated validator in the next commit.
func genValidateFile(f *jen.File, s *ir.Schema) {
	f.Func().Params(jen.Id("x").Op("*").Id(s.GoName)).Id("Validate").Params(jen.Id("v").Op("*").Qual(RulesPkg, "Violations")).Block()
}
