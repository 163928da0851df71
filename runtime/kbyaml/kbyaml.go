package kbyaml

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultMaxCycles is grule's cycle limit when kb.yaml sets none (the same
// as rules.DefaultMaxCycles, which generated code uses).
const DefaultMaxCycles = 5000

// Spec is a checked kb.yaml.
type Spec struct {
	Name      string
	Version   string
	On        []string // event types, in file order
	FactName  string   // the GRL name of the data fact, e.g. "Order"
	SchemaID  string   // the schema the fact binds, e.g. "com.acme.order.created/v1"
	MaxCycles int
	// Line and Col locate the document's mapping (1-based), for problems
	// found later about the knowledge base as a whole.
	Line, Col int
}

// Schema is what the checks need to know of one schema version.
type Schema struct {
	ID   string // "<type>/v<N>"
	Type string
}

// Problem is one reason a kb.yaml is refused, at a 1-based line:col.
type Problem struct {
	Line, Col int
	Msg       string
	Hint      string // a suggestion, or empty
}

func (p Problem) String() string {
	s := fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg)
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Keys are kb.yaml's keys, in the order the docs list them.
var Keys = []string{"name", "version", "on", "facts", "max_cycles"}

// Parse checks src against the schemas known (in a stable order, for the
// hints); with schemas nil the event types and the schema ID are not
// checked. It returns every problem found; the Spec is complete only when
// there are none.
func Parse(src []byte, schemas []Schema) (Spec, []Problem) {
	p := &parser{schemas: schemas, check: schemas != nil}
	return p.parse(src)
}

type parser struct {
	schemas  []Schema
	check    bool
	problems []Problem
}

func (p *parser) add(n *yaml.Node, hint, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.problems = append(p.problems, Problem{Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (p *parser) parse(src []byte) (Spec, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line, col := yamlErrPos(err)
		p.problems = append(p.problems, Problem{Line: line, Col: col, Msg: "invalid YAML: " + yamlErrMsg(err)})
		return Spec{}, p.problems
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		p.add(nil, "", "kb.yaml must be a mapping with name, version, on and facts")
		return Spec{}, p.problems
	}
	m := doc.Content[0]
	spec := Spec{MaxCycles: DefaultMaxCycles, Line: m.Line, Col: m.Column}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if seen[k.Value] != nil {
			p.add(k, "", "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "name":
			spec.Name = p.name(v)
		case "version":
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				p.add(v, "", "version must be a non-empty string")
			}
			spec.Version = v.Value
		case "on":
			spec.On = p.on(v)
		case "facts":
			spec.FactName, spec.SchemaID = p.facts(v)
		case "max_cycles":
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n <= 0 {
				p.add(v, "", "max_cycles must be a positive integer, got %q", v.Value)
			}
			spec.MaxCycles = n
		default:
			p.add(k, DidYouMean(k.Value, Keys, "known keys are "+strings.Join(Keys, ", ")), "unknown key %q", k.Value)
		}
	}
	for _, req := range Keys[:4] {
		if seen[req] == nil {
			p.add(m, "", "missing required key %q", req)
		}
	}
	if len(p.problems) == 0 && p.check {
		if t := p.typeOf(spec.SchemaID); !contains(spec.On, t) {
			p.add(seen["facts"], "", "fact %s binds %s, whose type %s is not listed in on", spec.FactName, spec.SchemaID, t)
		}
	}
	if len(p.problems) > 0 {
		return Spec{}, p.problems
	}
	return spec, nil
}

func (p *parser) name(v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode || !nameRE.MatchString(v.Value) {
		p.add(v, "", "name %q must match [a-z][a-z0-9_-]*", v.Value)
	}
	return v.Value
}

func (p *parser) on(v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.add(v, "", "on must be a non-empty list of event types")
		return nil
	}
	var types []string
	for _, s := range p.schemas {
		if !contains(types, s.Type) {
			types = append(types, s.Type)
		}
	}
	var on []string
	for _, t := range v.Content {
		switch {
		case t.Kind != yaml.ScalarNode:
			p.add(t, "", "on: event type must be a string")
		case p.check && !contains(types, t.Value):
			p.add(t, DidYouMean(t.Value, types, "no schema in schemas/ has this type"), "on: unknown event type %q", t.Value)
		case contains(on, t.Value):
			p.add(t, "", "on: event type %q is listed twice", t.Value)
		default:
			on = append(on, t.Value)
		}
	}
	return on
}

func (p *parser) facts(v *yaml.Node) (fact, schemaID string) {
	if v.Kind != yaml.MappingNode || len(v.Content) != 2 {
		p.add(v, "", "facts must map exactly one GRL fact name to a schema ID, e.g. {Order: com.acme.order.created/v1}")
		return "", ""
	}
	name, id := v.Content[0], v.Content[1]
	switch {
	case !IsGRLIdent(name.Value):
		p.add(name, "", "fact name %q is not a GRL identifier", name.Value)
	case name.Value == "Event" || name.Value == "DEFUNC":
		p.add(name, "Event is the built-in CloudEvent fact; DEFUNC is grule's", "fact name %q is reserved", name.Value)
	case IsGRLKeyword(name.Value):
		p.add(name, "", "fact name %q is a GRL keyword", name.Value)
	}
	if p.check && p.typeOf(id.Value) == "" {
		ids := make([]string, len(p.schemas))
		for i, s := range p.schemas {
			ids[i] = s.ID
		}
		p.add(id, DidYouMean(id.Value, ids, "schema IDs look like <event type>/v<N>"), "fact %s: unknown schema %q", name.Value, id.Value)
	}
	return name.Value, id.Value
}

// typeOf is schema id's event type, or "" for an unknown id.
func (p *parser) typeOf(id string) string {
	for _, s := range p.schemas {
		if s.ID == id {
			return s.Type
		}
	}
	return ""
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// yamlErrPos extracts the position from a yaml error message.
func yamlErrPos(err error) (line, col int) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 1, 1
	}
	line, _ = strconv.Atoi(m[1])
	col = 1
	if m[2] != "" {
		col, _ = strconv.Atoi(m[2])
	}
	return line, col
}

func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "line ") {
		s = s[i+2:]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
