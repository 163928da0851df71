package evolve

import (
	"sort"
	"strings"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/grl"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// FieldReads lists the data-fact properties a knowledge base's rules use
// (read or assign), as schema property paths ("customer.tier",
// "items[].sku"), sorted; a path is left out when a longer one extends it.
func FieldReads(kb *ir.KB) []string {
	seen := map[string]bool{}
	visit := func(e *ir.Expr) {
		if p, ok := propertyPath(e); ok && p != "" {
			seen[p] = true
		}
	}
	for _, r := range kb.Rules {
		r.When.Walk(visit)
		for _, s := range r.Then {
			s.Target.Walk(visit)
			s.Value.Walk(visit)
		}
	}
	var out []string
	for p := range seen {
		extended := false
		for q := range seen {
			if q != p && (strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[]")) {
				extended = true
				break
			}
		}
		if !extended {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// propertyPath turns a field or index chain rooted at the data fact into a
// property path; ok is false for anything else (Event, calls, constants).
func propertyPath(e *ir.Expr) (string, bool) {
	switch e.Op {
	case ir.OpFact:
		return "", true
	case ir.OpIndex:
		p, ok := propertyPath(e.X)
		return p + "[]", ok
	case ir.OpField:
		p, ok := propertyPath(e.X)
		if !ok || e.X.Type == nil || e.X.Type.Kind != ir.TObject {
			return "", false
		}
		f := e.X.Type.Object.Field(e.Name)
		if f == nil {
			return "", false
		}
		return join(p, f.Name), true
	}
	return "", false
}

// touches reports whether a change at path concerns a property a rule
// uses: the same property, one inside it, or one containing it.
func touches(change string, reads []string) []string {
	if change == "" {
		return nil
	}
	var out []string
	for _, r := range reads {
		if r == change || strings.HasPrefix(r, change+".") || strings.HasPrefix(r, change+"[]") ||
			strings.HasPrefix(change, r+".") || strings.HasPrefix(change, r+"[]") {
			out = append(out, r)
		}
	}
	return out
}

// CompileAgainst type-checks kb's GRL against another version of its data
// fact's schema and returns the errors; none means the knowledge base could
// bind that version as it is.
func CompileAgainst(kb *ir.KB, s *ir.Schema) []diag.Diagnostic {
	cp := *kb
	cp.Schema = s
	cp.Rules = nil
	files := make([]*diag.File, len(kb.Sources))
	for i, src := range kb.Sources {
		files[i] = diag.NewFile(src.Path, []byte(src.Text))
	}
	var l diag.List
	grl.Compile(&cp, files, &l)
	var errs []diag.Diagnostic
	for _, d := range l.Sorted() {
		if d.Severity == diag.Error {
			errs = append(errs, d)
		}
	}
	return errs
}
