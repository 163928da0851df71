package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Registry is the bundle of schemas and knowledge bases compiled into a
// binary. generated.Registry() builds it; the runtime only reads it.
type Registry struct {
	// BundleHash identifies the exact schemas, rules and generator version.
	BundleHash string
	schemas    map[string]*Schema // by ID
	latest     map[string]*Schema // by type
	kbs        map[string]KnowledgeBase
	byType     map[string][]KnowledgeBase // by event type, in KB name order
}

// NewRegistry indexes schemas and knowledge bases, refusing duplicates and
// knowledge bases bound to unknown schemas.
func NewRegistry(bundleHash string, schemas []*Schema, kbs []KnowledgeBase) (*Registry, error) {
	r := &Registry{
		BundleHash: bundleHash,
		schemas:    map[string]*Schema{},
		latest:     map[string]*Schema{},
		kbs:        map[string]KnowledgeBase{},
		byType:     map[string][]KnowledgeBase{},
	}
	for _, s := range schemas {
		if _, dup := r.schemas[s.ID]; dup {
			return nil, fmt.Errorf("rules: duplicate schema %s", s.ID)
		}
		r.schemas[s.ID] = s
		if l := r.latest[s.Type]; l == nil || l.Version < s.Version {
			r.latest[s.Type] = s
		}
	}
	sorted := append([]KnowledgeBase(nil), kbs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name() < sorted[j].Name() })
	for _, kb := range sorted {
		if _, dup := r.kbs[kb.Name()]; dup {
			return nil, fmt.Errorf("rules: duplicate knowledge base %s", kb.Name())
		}
		if r.schemas[kb.SchemaID()] == nil {
			return nil, fmt.Errorf("rules: knowledge base %s binds unknown schema %s", kb.Name(), kb.SchemaID())
		}
		r.kbs[kb.Name()] = kb
		for _, t := range kb.On() {
			r.byType[t] = append(r.byType[t], kb)
		}
	}
	return r, nil
}

// MustRegistry is NewRegistry for generated code, whose input the generator
// has already checked.
func MustRegistry(bundleHash string, schemas []*Schema, kbs []KnowledgeBase) *Registry {
	r, err := NewRegistry(bundleHash, schemas, kbs)
	if err != nil {
		panic(err)
	}
	return r
}

// Schema returns the schema with the given ID ("<type>/v<N>").
func (r *Registry) Schema(id string) (*Schema, bool) {
	s, ok := r.schemas[id]
	return s, ok
}

// Latest returns the newest schema version of an event type.
func (r *Registry) Latest(eventType string) (*Schema, bool) {
	s, ok := r.latest[eventType]
	return s, ok
}

// Resolve picks the schema of an event from its type and dataschema
// attribute: dataschema may be "<type>/v<N>" or a URI ending in it; when it is
// empty the latest version of the type is used.
func (r *Registry) Resolve(eventType, dataschema string) (*Schema, error) {
	if dataschema == "" {
		if s, ok := r.latest[eventType]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("unknown event type %q", eventType)
	}
	i := strings.LastIndex(dataschema, "/v")
	if i < 0 {
		return nil, fmt.Errorf("dataschema %q does not end in /v<N>", dataschema)
	}
	if _, err := strconv.Atoi(dataschema[i+2:]); err != nil {
		return nil, fmt.Errorf("dataschema %q does not end in /v<N>", dataschema)
	}
	id := eventType + dataschema[i:]
	if !strings.HasSuffix(dataschema, id) {
		return nil, fmt.Errorf("dataschema %q does not name event type %q", dataschema, eventType)
	}
	if s, ok := r.schemas[id]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown schema %s", id)
}

// Schemas lists every schema sorted by ID.
func (r *Registry) Schemas() []*Schema {
	out := make([]*Schema, 0, len(r.schemas))
	for _, s := range r.schemas {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// KnowledgeBase returns a knowledge base by name.
func (r *Registry) KnowledgeBase(name string) (KnowledgeBase, bool) {
	kb, ok := r.kbs[name]
	return kb, ok
}

// KnowledgeBases lists every knowledge base in name order.
func (r *Registry) KnowledgeBases() []KnowledgeBase {
	out := make([]KnowledgeBase, 0, len(r.kbs))
	for _, kb := range r.kbs {
		out = append(out, kb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// For returns the knowledge bases triggered by an event of the given schema,
// in name order: those listing its type in `on` and binding that version.
func (r *Registry) For(s *Schema) []KnowledgeBase {
	var out []KnowledgeBase
	for _, kb := range r.byType[s.Type] {
		if kb.SchemaID() == s.ID {
			out = append(out, kb)
		}
	}
	return out
}
