package rulediff

import (
	"errors"
	"fmt"
	"slices"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Runner runs knowledge bases over events one at a time, reusing one fact
// per schema and one Exec so that memory stays flat. It is not safe for
// concurrent use.
type Runner struct {
	reg   *rules.Registry
	facts map[string]rules.Fact // by schema ID
	x     rules.Exec
}

// NewRunner returns a Runner whose facts come from reg's schemas.
func NewRunner(reg *rules.Registry) *Runner {
	return &Runner{reg: reg, facts: map[string]rules.Fact{}}
}

// Run checks that kb runs on ev (Bind), decodes ev's data and executes kb.
// The fact is nil when the event was refused or its data did not decode;
// otherwise it is the data after the rules, also when err is a rule error.
// The fact and Exec (fired rules, Event actions) are the Runner's, valid
// until the next Run.
func (r *Runner) Run(kb rules.KnowledgeBase, ev *cloudevents.Event) (rules.Fact, *rules.Exec, error) {
	r.x.Reset()
	if err := Bind(r.reg, kb, ev); err != nil {
		return nil, &r.x, err
	}
	f, ok := r.facts[kb.SchemaID()]
	if !ok {
		s, found := r.reg.Schema(kb.SchemaID())
		if !found {
			return nil, &r.x, fmt.Errorf("knowledge base %s binds %s, which this binary does not know", kb.Name(), kb.SchemaID())
		}
		f = s.New()
		r.facts[kb.SchemaID()] = f
	}
	if err := rules.Decode(f, ev.Data); err != nil {
		return nil, &r.x, fmt.Errorf("data: %w", err)
	}
	SetEventAttributes(&r.x.Event, ev)
	return f, &r.x, rules.Run(kb, &r.x, f) // a panicking rule is this event's error, not the replay's end
}

// Binds reports whether kb runs on ev: ev's type is in kb's `on` and ev's
// schema version (SchemaOf) is the one kb binds.
func Binds(reg *rules.Registry, kb rules.KnowledgeBase, ev *cloudevents.Event) bool {
	if !slices.Contains(kb.On(), ev.Type) {
		return false
	}
	id, err := SchemaOf(reg, ev)
	return err == nil && id == kb.SchemaID()
}

// Bind checks that ev is an event kb runs on, with JSON data, and says why
// not.
func Bind(reg *rules.Registry, kb rules.KnowledgeBase, ev *cloudevents.Event) error {
	if !slices.Contains(kb.On(), ev.Type) {
		return fmt.Errorf("knowledge base %s does not run on events of type %q (on: %v)", kb.Name(), ev.Type, kb.On())
	}
	id, err := SchemaOf(reg, ev)
	if err != nil {
		return err
	}
	if id != kb.SchemaID() {
		return fmt.Errorf("knowledge base %s binds %s, the event is %s", kb.Name(), kb.SchemaID(), id)
	}
	if ev.Data == nil {
		return errors.New("event has no data")
	}
	if !cloudevents.IsJSONContentType(ev.DataContentType) {
		return fmt.Errorf("datacontenttype %q is not JSON", ev.DataContentType)
	}
	return nil
}

// SchemaOf is the schema version of ev as serve resolves it: the one its
// dataschema names (short form or URL), else its type's latest in reg.
func SchemaOf(reg *rules.Registry, ev *cloudevents.Event) (string, error) {
	if ev.DataSchema != "" {
		id, err := dataschema.ID(ev.Type, ev.DataSchema)
		if err != nil {
			return "", fmt.Errorf("dataschema: %w", err)
		}
		return id, nil
	}
	s, ok := reg.Latest(ev.Type)
	if !ok {
		return "", fmt.Errorf("unknown event type %q", ev.Type)
	}
	return s.ID, nil
}

// SetEventAttributes copies ev's attributes into the built-in Event fact.
func SetEventAttributes(dst *rules.Event, ev *cloudevents.Event) {
	dst.ID, dst.Type, dst.Source, dst.Subject, dst.Time, dst.TenantID =
		ev.ID, ev.Type, ev.Source, ev.Subject, ev.Time, ev.TenantID
}
