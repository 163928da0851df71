package emit

import (
	"sort"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// registryFile emits registry.go: the bundle hash, every schema and every
// knowledge base, indexed once into a *rules.Registry.
//
//	const BundleHash = "0123456789abcdef"
//
//	var registry = sync.OnceValue(func() *rules.Registry {
//		return rules.MustRegistry(BundleHash, Schemas(), KnowledgeBases())
//	})
//
//	func Registry() *rules.Registry { return registry() }
//	func Schemas() []*rules.Schema { return []*rules.Schema{OrderCreatedV1Schema, ...} }
//	func KnowledgeBases() []rules.KnowledgeBase { return []rules.KnowledgeBase{OrdersKB, ...} }
func registryFile(b *ir.Bundle, pkg string) (File, error) {
	f := newFile(pkg, "schemas/, rules/")
	schemas := append([]*ir.Schema(nil), b.Schemas...)
	sort.Slice(schemas, func(i, j int) bool { return schemas[i].ID < schemas[j].ID })
	kbs := append([]*ir.KB(nil), b.KBs...)
	sort.Slice(kbs, func(i, j int) bool { return kbs[i].Name < kbs[j].Name })

	f.Comment("BundleHash identifies the exact schemas, rules and generator version compiled")
	f.Comment("into this package.")
	f.Const().Id("BundleHash").Op("=").Lit(b.Hash)

	f.Var().Id("registry").Op("=").Qual("sync", "OnceValue").Call(
		jen.Func().Params().Op("*").Qual(RulesPkg, "Registry").Block(
			jen.Return(jen.Qual(RulesPkg, "MustRegistry").Call(
				jen.Id("BundleHash"), jen.Id("Schemas").Call(), jen.Id("KnowledgeBases").Call(),
			)),
		),
	)

	f.Comment("Registry returns the schemas and knowledge bases of this bundle, indexed once.")
	f.Func().Id("Registry").Params().Op("*").Qual(RulesPkg, "Registry").Block(
		jen.Return(jen.Id("registry").Call()),
	)

	f.Comment("Schemas lists every schema version of this bundle, sorted by ID.")
	f.Func().Id("Schemas").Params().Index().Op("*").Qual(RulesPkg, "Schema").Block(
		jen.Return(jen.Index().Op("*").Qual(RulesPkg, "Schema").ValuesFunc(func(g *jen.Group) {
			for _, s := range schemas {
				g.Line().Id(s.GoName + "Schema")
			}
			if len(schemas) > 0 {
				g.Line()
			}
		})),
	)

	f.Comment("KnowledgeBases lists every compiled knowledge base of this bundle, sorted by name.")
	f.Func().Id("KnowledgeBases").Params().Index().Qual(RulesPkg, "KnowledgeBase").Block(
		jen.Return(jen.Index().Qual(RulesPkg, "KnowledgeBase").ValuesFunc(func(g *jen.Group) {
			for _, kb := range kbs {
				g.Line().Id(kb.GoName + "KB")
			}
			if len(kbs) > 0 {
				g.Line()
			}
		})),
	)

	src, err := render(f)
	if err != nil {
		return File{}, err
	}
	return File{Path: "registry.go", Content: src}, nil
}
