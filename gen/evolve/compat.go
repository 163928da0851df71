package evolve

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// Change is one difference between two versions of an event type's schema.
type Change struct {
	// Path names the property as the schema loader does: "customer.tier",
	// "items[].sku"; empty for the event data object itself.
	Path string
	// Breaking is set when data valid under the old version may be refused
	// by the new one, or when rules written against the old version may no
	// longer compile against the new one.
	Breaking bool
	// What says what changed, e.g. "removed" or "type changed from number to
	// integer".
	What string
	// Hint is optional advice, e.g. a likely rename.
	Hint string
	// Pos is where the change shows in the new version's file (the
	// enclosing object for a removed property).
	Pos diag.Pos
}

func (c Change) String() string {
	if c.Path == "" {
		return "event data: " + c.What
	}
	return "property " + strconv.Quote(c.Path) + ": " + c.What
}

// Compare lists every difference between old and new that matters to
// producers, consumers or rules, breaking ones first within each property,
// in the new schema's property order. Descriptions are ignored.
func Compare(old, new *ir.Schema) []Change {
	c := &comparer{}
	c.object("", old.Root, new.Root)
	return c.out
}

type comparer struct{ out []Change }

func (c *comparer) add(path string, breaking bool, pos diag.Pos, format string, args ...any) *Change {
	c.out = append(c.out, Change{Path: path, Breaking: breaking, What: fmt.Sprintf(format, args...), Pos: pos})
	return &c.out[len(c.out)-1]
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// object compares two object types: additionalProperties, then the old
// properties (removed or changed), then the added ones.
func (c *comparer) object(path string, o, n *ir.ObjectType) {
	if o.AdditionalProperties && !n.AdditionalProperties {
		c.add(path, true, n.Pos, "additionalProperties changed from true to false: data with other properties is now refused")
	} else if !o.AdditionalProperties && n.AdditionalProperties {
		c.add(path, false, n.Pos, "additionalProperties changed from false to true")
	}
	added := map[string]*ir.Field{}
	for _, nf := range n.Fields {
		if fieldByName(o, nf.Name) == nil {
			added[nf.Name] = nf
		}
	}
	for _, of := range o.Fields {
		nf := fieldByName(n, of.Name)
		if nf == nil {
			ch := c.add(join(path, of.Name), true, n.Pos, "removed (it was %s)", describeField(of))
			if r := renamedTo(of, n.Fields, added); r != "" {
				ch.Hint = "renamed to " + strconv.Quote(r) + "? a rename is a removal plus an addition"
			}
			continue
		}
		c.field(join(path, of.Name), of, nf)
	}
	for _, nf := range n.Fields {
		if added[nf.Name] == nil {
			continue
		}
		if nf.Required {
			c.add(join(path, nf.Name), true, nf.Pos, "added as required: data written for the previous version lacks it")
		} else {
			c.add(join(path, nf.Name), false, nf.Pos, "added (%s)", describeField(nf))
		}
	}
}

// renamedTo names the one added property of the same kind as a removed one.
func renamedTo(of *ir.Field, fields []*ir.Field, added map[string]*ir.Field) string {
	var cands []string
	for _, nf := range fields {
		if added[nf.Name] != nil && nf.Type.Kind == of.Type.Kind {
			cands = append(cands, nf.Name)
		}
	}
	if len(cands) == 1 {
		return cands[0]
	}
	return ""
}

func (c *comparer) field(path string, of, nf *ir.Field) {
	if of.GoName != nf.GoName {
		c.add(path, true, nf.Pos, "Go name changed from %s to %s: rules refer to fields by Go name", of.GoName, nf.GoName)
	}
	switch {
	case !of.Required && nf.Required:
		c.add(path, true, nf.Pos, "became required: data written for the previous version may lack it")
	case of.Required && !nf.Required:
		c.add(path, false, nf.Pos, "no longer required")
	}
	c.typ(path, of.Type, nf.Type, nf.Pos)
}

// typ compares two types at path; pos is the property in the new file.
func (c *comparer) typ(path string, o, n *ir.Type, pos diag.Pos) {
	if n.Pos.File != nil {
		pos = n.Pos
	}
	if o.Kind != n.Kind {
		c.add(path, true, pos, "type changed from %s to %s", o.Kind, n.Kind)
		return
	}
	c.format(path, o.Format, n.Format, pos)
	c.enum(path, o.Enum, n.Enum, pos)
	c.floatBound(path, "minimum", o.Minimum, n.Minimum, 1, pos)
	c.floatBound(path, "maximum", o.Maximum, n.Maximum, -1, pos)
	c.intBound(path, "minLength", o.MinLength, n.MinLength, 1, pos)
	c.intBound(path, "maxLength", o.MaxLength, n.MaxLength, -1, pos)
	c.intBound(path, "minItems", o.MinItems, n.MinItems, 1, pos)
	c.intBound(path, "maxItems", o.MaxItems, n.MaxItems, -1, pos)
	c.pattern(path, o.Pattern, n.Pattern, pos)
	switch o.Kind {
	case ir.Object:
		c.object(path, o.Object, n.Object)
	case ir.Array:
		c.typ(path+"[]", o.Items, n.Items, pos)
	}
}

func (c *comparer) format(path, o, n string, pos diag.Pos) {
	switch {
	case o == n:
	case o == "":
		c.add(path, true, pos, "format %q added", n)
	case n == "":
		c.add(path, false, pos, "format %q dropped", o)
	default:
		c.add(path, true, pos, "format changed from %q to %q", o, n)
	}
}

func (c *comparer) enum(path string, o, n []string, pos diag.Pos) {
	switch {
	case len(o) == 0 && len(n) == 0:
	case len(o) == 0:
		c.add(path, true, pos, "enum added: only %s allowed", quoteList(n))
	case len(n) == 0:
		c.add(path, false, pos, "enum dropped: any value allowed")
	default:
		var lost, gained []string
		for _, v := range o {
			if !slices.Contains(n, v) {
				lost = append(lost, v)
			}
		}
		for _, v := range n {
			if !slices.Contains(o, v) {
				gained = append(gained, v)
			}
		}
		if len(lost) > 0 {
			c.add(path, true, pos, "enum narrowed: %s no longer allowed", quoteList(lost))
		}
		if len(gained) > 0 {
			c.add(path, false, pos, "enum widened: %s allowed", quoteList(gained))
		}
	}
}

// floatBound compares a lower (dir 1) or upper (dir -1) bound: moving it
// inwards, or adding one, refuses data the old version accepted.
func (c *comparer) floatBound(path, key string, o, n *float64, dir float64, pos diag.Pos) {
	str := func(v *float64) string { return strconv.FormatFloat(*v, 'g', -1, 64) }
	switch {
	case o == nil && n == nil:
	case o == nil:
		c.add(path, true, pos, "%s %s added", key, str(n))
	case n == nil:
		c.add(path, false, pos, "%s %s dropped", key, str(o))
	case (*n-*o)*dir > 0:
		c.add(path, true, pos, "%s tightened from %s to %s", key, str(o), str(n))
	case *n != *o:
		c.add(path, false, pos, "%s relaxed from %s to %s", key, str(o), str(n))
	}
}

func (c *comparer) intBound(path, key string, o, n *int, dir int, pos diag.Pos) {
	var of, nf *float64
	if o != nil {
		v := float64(*o)
		of = &v
	}
	if n != nil {
		v := float64(*n)
		nf = &v
	}
	c.floatBound(path, key, of, nf, float64(dir), pos)
}

// pattern treats any new or different pattern as breaking: whether one
// regular expression accepts everything another does is not decidable in
// general, so the author must say so with "x-breaking".
func (c *comparer) pattern(path, o, n string, pos diag.Pos) {
	switch {
	case o == n:
	case o == "":
		c.add(path, true, pos, "pattern %q added", n)
	case n == "":
		c.add(path, false, pos, "pattern %q dropped", o)
	default:
		c.add(path, true, pos, "pattern changed from %q to %q (a changed pattern may refuse values the old one accepted)", o, n)
	}
}

func fieldByName(o *ir.ObjectType, name string) *ir.Field {
	for _, f := range o.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func describeField(f *ir.Field) string {
	req := "optional"
	if f.Required {
		req = "required"
	}
	return req + " " + describeType(f.Type)
}

func describeType(t *ir.Type) string {
	switch t.Kind {
	case ir.Array:
		return "array of " + describeType(t.Items)
	case ir.String:
		if t.Format != "" {
			return "string (" + t.Format + ")"
		}
		if len(t.Enum) > 0 {
			return "string enum"
		}
	}
	return t.Kind.String()
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// Breaking reports whether any change is breaking.
func Breaking(changes []Change) bool {
	for _, c := range changes {
		if c.Breaking {
			return true
		}
	}
	return false
}
