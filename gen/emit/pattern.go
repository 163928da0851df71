package emit

import (
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// A simple pattern (ir.Matcher) becomes a function that walks the string
// once, with no allocation and no backtracking, in place of a regexp. It
// compares bytes with ASCII only, so a byte of a multi-byte or invalid
// UTF-8 sequence fails a class as regexp's rune does.

// genMatcher emits the matcher of one pattern.
//
//	// matchOrderCreatedV1LineItemSku reports whether s matches `^[A-Z0-9-]{3,32}$`
//	// (as regexp's MatchString does), in one pass over its bytes.
//	func matchOrderCreatedV1LineItemSku(s string) bool {
//		i := 0
//		// [\-0-9A-Z]{3,32}
//		from := i
//		for i < len(s) && i-from < 32 {
//			if c := s[i]; !(c == '-' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
//				break
//			}
//			i++
//		}
//		if i-from < 3 {
//			return false
//		}
//		return i == len(s)
//	}
func genMatcher(f *jen.File, name, pattern string, m *ir.Matcher) {
	quoted := strconv.Quote(pattern)
	if strconv.CanBackquote(pattern) {
		quoted = "`" + pattern + "`"
	}
	f.Comment(name + " reports whether s matches " + quoted)
	f.Comment("(as regexp's MatchString does), in one pass over its bytes.")
	f.Func().Id(name).Params(jen.Id("s").String()).Bool().BlockFunc(func(g *jen.Group) {
		if len(m.Steps) == 0 {
			g.Return(jen.Len(jen.Id("s")).Op("==").Lit(0))
			return
		}
		g.Id("i").Op(":=").Lit(0)
		declared := false
		for _, st := range m.Steps {
			g.Comment(st.Src)
			switch {
			case st.Literal != "":
				literalStep(g, st.Literal)
			case st.Min == st.Max:
				fixedStep(g, st)
			default:
				op := "="
				if needsFrom(st) && !declared {
					op, declared = ":=", true
				}
				runStep(g, st, op)
			}
		}
		g.Return(atEnd())
	})
}

func byteAt() *jen.Statement { return jen.Id("s").Index(jen.Id("i")) }        // s[i]
func atEnd() *jen.Statement  { return jen.Id("i").Op("==").Len(jen.Id("s")) } // i == len(s)
func noMatch() jen.Code      { return jen.Return(jen.False()) }
func leftLess(n int) *jen.Statement { // len(s)-i < n
	return jen.Len(jen.Id("s")).Op("-").Id("i").Op("<").Lit(n)
}

// literalStep:
//
//	if len(s)-i < 4 || s[i:i+4] != "dev-" {
//		return false
//	}
//	i += 4
func literalStep(g *jen.Group, lit string) {
	if len(lit) == 1 {
		g.If(atEnd().Op("||").Add(byteAt()).Op("!=").LitRune(rune(lit[0]))).Block(noMatch())
		g.Id("i").Op("++")
		return
	}
	n := len(lit)
	g.If(leftLess(n).Op("||").Id("s").Index(jen.Id("i").Op(":").Id("i").Op("+").Lit(n)).Op("!=").Lit(lit)).Block(noMatch())
	g.Id("i").Op("+=").Lit(n)
}

// fixedStep matches exactly st.Min bytes of the class:
//
//	if len(s)-i < 2 {
//		return false
//	}
//	for end := i + 2; i < end; i++ {
//		if c := s[i]; c < 'A' || 'Z' < c {
//			return false
//		}
//	}
func fixedStep(g *jen.Group, st ir.MatchStep) {
	if st.Min == 1 {
		g.If(atEnd()).Block(noMatch())
		g.If(jen.Id("c").Op(":=").Add(byteAt()), notInClass(st.Ranges)).Block(noMatch())
		g.Id("i").Op("++")
		return
	}
	g.If(leftLess(st.Min)).Block(noMatch())
	g.For(jen.Id("end").Op(":=").Id("i").Op("+").Lit(st.Min), jen.Id("i").Op("<").Id("end"), jen.Id("i").Op("++")).Block(
		jen.If(jen.Id("c").Op(":=").Add(byteAt()), notInClass(st.Ranges)).Block(noMatch()),
	)
}

// runStep takes the run of class bytes, up to st.Max, and fails when it is
// shorter than st.Min:
//
//	from = i
//	for i < len(s) && i-from < 16 {
//		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
//			break
//		}
//		i++
//	}
//	if i-from < 4 {
//		return false
//	}
func runStep(g *jen.Group, st ir.MatchStep, op string) {
	if st.Min == 0 && st.Max == 1 {
		optionalStep(g, st)
		return
	}
	if needsFrom(st) {
		g.Id("from").Op(op).Id("i")
	}
	cond := jen.Id("i").Op("<").Len(jen.Id("s"))
	if st.Max >= 0 {
		cond = cond.Op("&&").Id("i").Op("-").Id("from").Op("<").Lit(st.Max)
	}
	g.For(cond).Block(
		jen.If(jen.Id("c").Op(":=").Add(byteAt()), notInClass(st.Ranges)).Block(jen.Break()),
		jen.Id("i").Op("++"),
	)
	switch {
	case st.Min == 1:
		g.If(jen.Id("i").Op("==").Id("from")).Block(noMatch())
	case st.Min > 1:
		g.If(jen.Id("i").Op("-").Id("from").Op("<").Lit(st.Min)).Block(noMatch())
	}
}

// optionalStep takes one class byte if there is one:
//
//	if i < len(s) {
//		if c := s[i]; c == '-' {
//			i++
//		}
//	}
func optionalStep(g *jen.Group, st ir.MatchStep) {
	g.If(jen.Id("i").Op("<").Len(jen.Id("s"))).Block(
		jen.If(jen.Id("c").Op(":=").Add(byteAt()), inClass(st.Ranges)).Block(jen.Id("i").Op("++")),
	)
}

// needsFrom reports whether a run step counts its bytes.
func needsFrom(st ir.MatchStep) bool { return st.Max != 1 && (st.Min > 0 || st.Max >= 0) }

// notInClass is the condition that byte c falls outside the ranges.
func notInClass(rs []ir.ByteRange) *jen.Statement {
	if len(rs) == 1 {
		r := rs[0]
		switch {
		case r.Lo == r.Hi:
			return jen.Id("c").Op("!=").LitRune(rune(r.Lo))
		case r.Lo == 0:
			return jen.Id("c").Op(">").LitRune(rune(r.Hi))
		}
		return jen.Id("c").Op("<").LitRune(rune(r.Lo)).Op("||").LitRune(rune(r.Hi)).Op("<").Id("c")
	}
	return jen.Op("!").Parens(inClass(rs))
}

// inClass is the condition that byte c falls in the ranges.
func inClass(rs []ir.ByteRange) *jen.Statement {
	in := jen.Null()
	for i, r := range rs {
		if i > 0 {
			in.Op("||")
		}
		switch {
		case r.Lo == r.Hi:
			in.Id("c").Op("==").LitRune(rune(r.Lo))
		case r.Lo == 0:
			in.Id("c").Op("<=").LitRune(rune(r.Hi))
		default:
			in.LitRune(rune(r.Lo)).Op("<=").Id("c").Op("&&").Id("c").Op("<=").LitRune(rune(r.Hi))
		}
	}
	return in
}
