package rulediff

import (
	"encoding/json"
	"slices"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Outcome is what one knowledge base, run on its own, made of one event:
// what the engine would store and publish when it is the only knowledge
// base bound to the event's schema (serve runs several bound to one schema
// one after another over the same fact).
type Outcome struct {
	// Ran is false when the knowledge base does not run on the event (or
	// does not exist on that side); the rest is then empty.
	Ran bool
	// Data is the data fact after the rules as JSON; nil when the data did
	// not decode.
	Data    json.RawMessage
	Fired   []string
	Tags    []string
	Routes  []string
	Dropped bool
	Error   string
}

// Outcome runs kb (nil: absent on this side) over ev and copies out what
// it made of it.
func (r *Runner) Outcome(kb rules.KnowledgeBase, ev *cloudevents.Event) Outcome {
	if kb == nil || !Binds(r.reg, kb, ev) {
		return Outcome{}
	}
	f, x, err := r.Run(kb, ev)
	o := Outcome{
		Ran:     true,
		Fired:   slices.Clone(x.Fired),
		Tags:    slices.Clone(x.Event.Tags()),
		Routes:  slices.Clone(x.Event.Routes()),
		Dropped: x.Event.IsDropped(),
	}
	if f != nil {
		o.Data = f.AppendJSON(nil)
	}
	if err != nil {
		o.Error = err.Error()
	}
	return o
}

// Equal reports whether two outcomes are the same.
func (o *Outcome) Equal(p *Outcome) bool {
	return o.Ran == p.Ran && string(o.Data) == string(p.Data) && slices.Equal(o.Fired, p.Fired) &&
		slices.Equal(o.Tags, p.Tags) && slices.Equal(o.Routes, p.Routes) &&
		o.Dropped == p.Dropped && o.Error == p.Error
}
