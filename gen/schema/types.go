package schema

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// Keywords by where they apply. Anything else is refused.
var (
	commonKeywords = []string{"type", "description", "title", "$comment", "examples", "x-go-name"}
	rootKeywords   = []string{"$id", "$schema", "x-breaking"}
	kindKeywords   = map[string][]string{
		"string":  {"enum", "format", "minLength", "maxLength", "pattern"},
		"integer": {"minimum", "maximum"},
		"number":  {"minimum", "maximum"},
		"boolean": {},
		"object":  {"properties", "required", "additionalProperties"},
		"array":   {"items", "minItems", "maxItems"},
	}
	kinds = map[string]ir.Kind{
		"string": ir.String, "integer": ir.Integer, "number": ir.Number,
		"boolean": ir.Boolean, "object": ir.Object, "array": ir.Array,
	}
	kindNames = []string{"string", "integer", "number", "boolean", "object", "array"}
	formats   = []string{"date-time", "uuid", "email", "uri"}

	// unsupportedKeywords are JSON Schema 2020-12 keywords outside the
	// subset, with advice where there is an alternative.
	unsupportedKeywords = map[string]string{
		"$ref": "inline the referenced schema", "$defs": "", "definitions": "", "$anchor": "",
		"$dynamicRef": "", "$dynamicAnchor": "", "$vocabulary": "", "$recursiveRef": "", "$recursiveAnchor": "",
		"allOf": "", "anyOf": "", "oneOf": "", "not": "", "if": "", "then": "", "else": "",
		"dependentSchemas": "", "dependentRequired": "", "dependencies": "",
		"const":            `use "enum" with one value`,
		"default":          "generated structs start from Go zero values",
		"exclusiveMinimum": `use "minimum"`, "exclusiveMaximum": `use "maximum"`, "multipleOf": "",
		"patternProperties": "", "propertyNames": "", "minProperties": "", "maxProperties": "",
		"unevaluatedProperties": "", "unevaluatedItems": "", "prefixItems": "", "contains": "",
		"minContains": "", "maxContains": "", "uniqueItems": "", "additionalItems": "",
		"contentEncoding": "", "contentMediaType": "", "contentSchema": "",
		"readOnly": "", "writeOnly": "", "deprecated": "", "nullable": "fields cannot be null; leave the property out instead",
	}
)

// allKeywords lists every supported keyword, for "did you mean" hints.
func allKeywords() []string {
	out := append(append([]string(nil), commonKeywords...), rootKeywords...)
	for _, k := range kindNames {
		out = append(out, kindKeywords[k]...)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// schemaType checks the schema n found at where. Objects are named
// parent+base; array items parent+(items' x-go-name or base+"Item"); enum
// constants parent+base+<value>.
func (fl *fileLoader) schemaType(n *node, where, parent, base string, isRoot bool) *ir.Type {
	if n.kind != jsonObject {
		fl.errf(where, n.off, "a schema must be a JSON object, got %s", n.kind)
		return nil
	}
	kindName, ok := fl.typeName(n, where)
	fl.checkKeywords(n, where, kindName, isRoot)
	if !ok {
		return nil
	}
	t := &ir.Type{Kind: kinds[kindName], Pos: fl.pos(n.off)}
	for _, k := range []string{"description", "title", "$comment", "$schema"} {
		if m := n.get(k); m != nil && m.value.kind != jsonString {
			fl.errf(where, m.value.off, "%q must be a string, got %s", k, m.value.kind)
		}
	}
	if m := n.get("examples"); m != nil && m.value.kind != jsonArray {
		fl.errf(where, m.value.off, `"examples" must be an array, got %s`, m.value.kind)
	}
	switch t.Kind {
	case ir.String:
		fl.stringKeywords(n, where, parent+base, t)
	case ir.Integer, ir.Number:
		t.Minimum = fl.bound(n, where, "minimum")
		t.Maximum = fl.bound(n, where, "maximum")
		if t.Minimum != nil && t.Maximum != nil && *t.Minimum > *t.Maximum {
			fl.errf(where, n.get("maximum").value.off, `"maximum" %s is less than "minimum" %s`,
				n.get("maximum").value.text, n.get("minimum").value.text)
		}
	case ir.Object:
		t.Object = fl.object(n, where, parent+base)
	case ir.Array:
		t.MinItems, t.MaxItems = fl.lengths(n, where, "minItems", "maxItems")
		t.Items = fl.items(n, where, parent, base)
		if t.Items == nil {
			return nil
		}
	}
	return t
}

// typeName reads "type".
func (fl *fileLoader) typeName(n *node, where string) (string, bool) {
	m := n.get("type")
	if m == nil {
		fl.errf(where, n.off, `missing "type"`).WithHint("one of " + strings.Join(kindNames, ", "))
		return "", false
	}
	v := m.value
	switch {
	case v.kind == jsonArray:
		fl.errf(where, v.off, `type arrays are not supported`).WithHint("use a single type; leave optional properties out instead of allowing null")
		return "", false
	case v.kind != jsonString:
		fl.errf(where, v.off, `"type" must be a string, got %s`, v.kind)
		return "", false
	case v.text == "null":
		fl.errf(where, v.off, `type "null" is not supported`).WithHint("leave optional properties out instead of sending null")
		return "", false
	case kinds[v.text] == 0:
		d := fl.errf(where, v.off, "unknown type %q", v.text)
		if s := didYouMean(v.text, kindNames); s != "" {
			d.WithHint("did you mean " + strconv.Quote(s) + "?")
		} else {
			d.WithHint("one of " + strings.Join(kindNames, ", "))
		}
		return "", false
	}
	return v.text, true
}

// checkKeywords refuses keywords outside the subset or not applying to the
// node's type (kindName is empty when the type is unknown).
func (fl *fileLoader) checkKeywords(n *node, where, kindName string, isRoot bool) {
	for _, m := range n.members {
		k := m.key
		switch {
		case contains(commonKeywords, k):
		case contains(rootKeywords, k):
			if !isRoot {
				fl.errf(where, m.keyOff, "keyword %q is only allowed at the top level", k)
			}
		case kindName != "" && contains(kindKeywords[kindName], k):
		case fl.otherKind(k) != "":
			if kindName != "" {
				fl.errf(where, m.keyOff, "keyword %q does not apply to type %q", k, kindName).
					WithHint(`it applies to type "` + fl.otherKind(k) + `"`)
			}
		default:
			if advice, ok := unsupportedKeywords[k]; ok {
				d := fl.errf(where, m.keyOff, "keyword %q is not supported", k)
				if advice != "" {
					d.WithHint(advice)
				}
				continue
			}
			d := fl.errf(where, m.keyOff, "unknown keyword %q", k)
			if s := didYouMean(k, allKeywords()); s != "" {
				d.WithHint("did you mean " + strconv.Quote(s) + "?")
			}
		}
	}
}

// otherKind names the first type a kind-specific keyword applies to.
func (fl *fileLoader) otherKind(k string) string {
	for _, kn := range kindNames {
		if contains(kindKeywords[kn], k) {
			return kn
		}
	}
	return ""
}

func (fl *fileLoader) stringKeywords(n *node, where, constPrefix string, t *ir.Type) {
	t.MinLength, t.MaxLength = fl.lengths(n, where, "minLength", "maxLength")
	if m := n.get("format"); m != nil {
		switch v := m.value; {
		case v.kind != jsonString:
			fl.errf(where, v.off, `"format" must be a string, got %s`, v.kind)
		case !contains(formats, v.text):
			fl.errf(where, v.off, "unknown format %q", v.text).WithHint("supported formats: " + strings.Join(formats, ", "))
		default:
			t.Format = v.text
		}
	}
	if m := n.get("pattern"); m != nil {
		switch v := m.value; {
		case v.kind != jsonString:
			fl.errf(where, v.off, `"pattern" must be a string, got %s`, v.kind)
		default:
			if _, err := regexp.Compile(v.text); err != nil {
				fl.errf(where, v.off, "pattern does not compile as a Go (RE2) regular expression: %v", err).
					WithHint("RE2 has no lookaround or backreferences")
			} else {
				t.Pattern = v.text
				t.Matcher = CompilePattern(v.text)
			}
		}
	}
	if m := n.get("enum"); m != nil {
		fl.enum(m.value, where, constPrefix, t)
	}
}

// enum reads a string enum and names its Go constants.
func (fl *fileLoader) enum(v *node, where, constPrefix string, t *ir.Type) {
	if v.kind != jsonArray || len(v.elems) == 0 {
		fl.errf(where, v.off, `"enum" must be a non-empty array of strings`)
		return
	}
	byName := map[string]string{}
	seen := map[string]bool{}
	for _, e := range v.elems {
		if e.kind != jsonString {
			fl.errf(where, e.off, "enum values must be strings, got %s", e.kind).
				WithHint("only string enums are supported")
			continue
		}
		if seen[e.text] {
			fl.errf(where, e.off, "duplicate enum value %q", e.text)
			continue
		}
		seen[e.text] = true
		suffix := goEnumSuffix(e.text)
		if suffix == "" {
			fl.errf(where, e.off, "enum value %q has no letters or digits to name its Go constant", e.text)
			continue
		}
		name := constPrefix + suffix
		if prev, ok := byName[name]; ok {
			fl.errf(where, e.off, "enum values %q and %q both map to the Go constant %s", prev, e.text, name)
			continue
		}
		byName[name] = e.text
		if !fl.claim(name, "an enum constant of "+strconv.Quote(where), fl.pos(e.off)) {
			continue
		}
		t.Enum = append(t.Enum, e.text)
		t.EnumNames = append(t.EnumNames, name)
	}
}

// bound reads minimum or maximum.
func (fl *fileLoader) bound(n *node, where, key string) *float64 {
	m := n.get(key)
	if m == nil {
		return nil
	}
	if m.value.kind != jsonNumber {
		fl.errf(where, m.value.off, "%q must be a number, got %s", key, m.value.kind)
		return nil
	}
	f, err := m.value.float()
	if err != nil || math.IsInf(f, 0) {
		fl.errf(where, m.value.off, "%q %s is out of range for a float64", key, m.value.text)
		return nil
	}
	return &f
}

// lengths reads a min/max pair of non-negative integer keywords.
func (fl *fileLoader) lengths(n *node, where, minKey, maxKey string) (lo, hi *int) {
	lo, hi = fl.count(n, where, minKey), fl.count(n, where, maxKey)
	if lo != nil && hi != nil && *lo > *hi {
		fl.errf(where, n.get(maxKey).value.off, "%q %d is less than %q %d", maxKey, *hi, minKey, *lo)
	}
	return lo, hi
}

func (fl *fileLoader) count(n *node, where, key string) *int {
	m := n.get(key)
	if m == nil {
		return nil
	}
	f, err := m.value.float()
	if m.value.kind != jsonNumber || err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		fl.errf(where, m.value.off, "%q must be a non-negative integer, got %s", key, describe(m.value))
		return nil
	}
	c := int(f)
	return &c
}

// describe renders a scalar value, or names the kind of a composite one.
func describe(n *node) string {
	switch n.kind {
	case jsonNumber:
		return n.text
	case jsonString:
		return strconv.Quote(n.text)
	case jsonBool:
		return strconv.FormatBool(n.boolean)
	}
	return n.kind.String()
}

// object reads properties, required and additionalProperties.
func (fl *fileLoader) object(n *node, where, goName string) *ir.ObjectType {
	o := &ir.ObjectType{GoName: goName, AdditionalProperties: true, Pos: fl.pos(n.off)}
	if m := n.get("description"); m != nil && m.value.kind == jsonString {
		o.Description = m.value.text
	}
	if m := n.get("additionalProperties"); m != nil {
		if m.value.kind != jsonBool {
			fl.errf(where, m.value.off, `"additionalProperties" must be a boolean, got %s`, m.value.kind).
				WithHint("schemas for additional properties are not supported")
		} else {
			o.AdditionalProperties = m.value.boolean
		}
	}
	what := "the type of " + fl.describeWhere(where)
	if where == "" {
		what = "the fact type of " + fl.id
	}
	if !fl.claim(goName, what, fl.pos(n.off)) {
		return o
	}
	goNames := map[string]string{}
	if m := n.get("properties"); m != nil {
		if m.value.kind != jsonObject {
			fl.errf(where, m.value.off, `"properties" must be an object, got %s`, m.value.kind)
		} else {
			for _, pm := range m.value.members {
				if f := fl.field(pm, where, goName, goNames); f != nil {
					o.Fields = append(o.Fields, f)
				}
			}
		}
	}
	if m := n.get("required"); m != nil {
		fl.required(m.value, where, n, o)
	}
	return o
}

func (fl *fileLoader) describeWhere(where string) string {
	if where == "" {
		return "the event data of " + fl.id
	}
	return "property " + strconv.Quote(where)
}

// field reads one property.
func (fl *fileLoader) field(pm member, where, parent string, goNames map[string]string) *ir.Field {
	name := pm.key
	fw := name
	if where != "" {
		fw = where + "." + name
	}
	if !isValidTag(name) {
		fl.errf("", pm.keyOff, "property name %q cannot be a JSON struct tag", name).
			WithHint(`use letters, digits, spaces and !#$%&()*+-./:;<=>?@[]^_{|}~ only`)
		return nil
	}
	f := &ir.Field{Name: name, GoName: goFieldName(name), Pos: fl.pos(pm.keyOff)}
	namePos := pm.keyOff
	if pm.value.kind == jsonObject {
		if m := pm.value.get("x-go-name"); m != nil {
			goName, ok := fl.xGoName(fw, m)
			if !ok {
				return nil
			}
			f.GoName, namePos = goName, m.value.off
		} else if !isExportedIdent(f.GoName) {
			fl.errf(fw, pm.keyOff, "cannot derive a Go field name from %q (got %q)", name, f.GoName).
				WithHint(`name the field with "x-go-name"`)
			return nil
		}
		if m := pm.value.get("description"); m != nil && m.value.kind == jsonString {
			f.Description = m.value.text
		}
	}
	if isGRLKeyword(f.GoName) {
		fl.errf(fw, namePos, "Go field name %q is a GRL keyword, so rules could not refer to it", f.GoName).
			WithHint(`rename the field with "x-go-name"`)
		return nil
	}
	if contains(methodNames, f.GoName) {
		fl.errf(fw, namePos, "Go field name %q collides with the generated method %s", f.GoName, f.GoName).
			WithHint(`rename the field with "x-go-name"`)
		return nil
	}
	if prev, ok := goNames[f.GoName]; ok {
		fl.errf(fw, namePos, "Go field name %q is already used by property %q", f.GoName, prev).
			WithHint(`rename one of them with "x-go-name"`)
		return nil
	}
	goNames[f.GoName] = name
	f.Type = fl.schemaType(pm.value, fw, parent, f.GoName, false)
	if f.Type == nil {
		return nil
	}
	return f
}

// required marks required fields.
func (fl *fileLoader) required(v *node, where string, n *node, o *ir.ObjectType) {
	if v.kind != jsonArray {
		fl.errf(where, v.off, `"required" must be an array of strings, got %s`, v.kind)
		return
	}
	var props []string
	if m := n.get("properties"); m != nil && m.value.kind == jsonObject {
		for _, pm := range m.value.members {
			props = append(props, pm.key)
		}
	}
	seen := map[string]bool{}
	for _, e := range v.elems {
		if e.kind != jsonString {
			fl.errf(where, e.off, `"required" must be an array of strings, got %s in it`, e.kind)
			continue
		}
		if seen[e.text] {
			fl.errf(where, e.off, "%q is listed twice in \"required\"", e.text)
			continue
		}
		seen[e.text] = true
		if !contains(props, e.text) {
			d := fl.errf(where, e.off, "required property %q is not defined in \"properties\"", e.text)
			if s := didYouMean(e.text, props); s != "" {
				d.WithHint("did you mean " + strconv.Quote(s) + "?")
			}
			continue
		}
		for _, f := range o.Fields {
			if f.Name == e.text {
				f.Required = true
			}
		}
	}
}

// items reads an array's items schema.
func (fl *fileLoader) items(n *node, where, parent, base string) *ir.Type {
	m := n.get("items")
	iw := where + "[]"
	if m == nil {
		fl.errf(where, n.off, `array type needs "items"`)
		return nil
	}
	if m.value.kind == jsonArray {
		fl.errf(where, m.value.off, `tuple "items" (an array of schemas) is not supported`).
			WithHint("give one schema for every item")
		return nil
	}
	itemBase := base + "Item"
	if m.value.kind == jsonObject {
		if xm := m.value.get("x-go-name"); xm != nil {
			tm := m.value.get("type")
			if tm == nil || tm.value.kind != jsonString || (tm.value.text != "object" && tm.value.text != "array") {
				fl.errf(iw, xm.keyOff, `"x-go-name" on array items names their object type; these items have none`)
				return nil
			}
			name, ok := fl.xGoName(iw, xm)
			if !ok {
				return nil
			}
			itemBase = name
		}
	}
	return fl.schemaType(m.value, iw, parent, itemBase, false)
}
