package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/store"
)

// Extension attributes of a processed event.
const (
	AttrKB      = "erkb"      // knowledge bases run: "name@version,…"
	AttrBundle  = "erbundle"  // the rule set (bundle hash)
	AttrFired   = "erfired"   // fired rules in firing order, comma-separated
	AttrTags    = "ertags"    // Event.Tag values, comma-separated
	AttrRoute   = "erroute"   // Event.Route destinations, comma-separated
	AttrDropped = "erdropped" // true when a rule called Event.Drop
)

// process turns one message into its store record and outgoing message (or
// a dead letter, or a retry), appending the processed event to arena.
func (w *worker) process(rs *RuleSet, it *item, arena []byte) []byte {
	msg := it.msg
	var tenant, typ string
	var err error
	if it.part > 0 {
		tenant, err = bus.ParseEnvelopeSubject(msg.Subject())
	} else {
		tenant, typ, err = bus.ParseProcSubject(msg.Subject())
	}
	if err != nil {
		w.deadLetter(it, bus.Rejection{Kind: "tenant", Field: "subject", Reason: err.Error()})
		return arena
	}
	it.tenant = tenant
	h := msg.Headers()
	if t, ok := bus.ParseTime(h.Get(bus.HeaderIngestTime)); ok {
		it.ingest = t
	} else if md, err := msg.Metadata(); err == nil {
		it.ingest = md.Timestamp
	}
	ev := &w.ev
	if err := cloudevents.Parse(it.body, ev); err != nil {
		w.deadLetter(it, bus.Rejection{Kind: "malformed", Field: "body", Reason: err.Error()})
		return arena
	}
	switch {
	case ev.TenantID != "" && ev.TenantID != tenant:
		w.deadLetter(it, bus.Rejection{Kind: "tenant", Field: "tenantid", Reason: fmt.Sprintf("the event names tenant %q, its subject %q", ev.TenantID, msg.Subject())})
		return arena
	case typ != "" && ev.Type != typ: // an envelope's subject names no type
		w.deadLetter(it, bus.Rejection{Kind: "attribute", Field: "type", Reason: fmt.Sprintf("type %q does not match the subject %q", ev.Type, msg.Subject())})
		return arena
	}
	ev.TenantID = tenant
	s, ok := w.schema(it, it.schema)
	if !ok {
		return arena
	}
	f := w.fact(s)
	if err := decode(f, ev.Data, it.schema == s.ID); err != nil {
		w.deadLetter(it, dataRejection(s, err))
		return arena
	}
	bound := rs.bound(s)
	if !w.runRules(it, bound, f) {
		return arena
	}
	return w.output(rs, it, s, bound, f, arena)
}

// schema finds the event's schema: the one the runner validated it
// against (Er-Schema), else by type and dataschema. A schema this binary
// does not know is retried (another engine process of a newer bundle may
// take it) and dead-lettered on the last delivery.
func (w *worker) schema(it *item, id string) (*rules.Schema, bool) {
	reg := w.e.opts.Registry
	if s, ok := reg.Schema(id); ok {
		return s, true
	}
	s, err := resolve(reg, w.ev.Type, w.ev.DataSchema)
	if err == nil {
		return s, true
	}
	if deliveries(it.msg) < uint64(w.e.opts.MaxDeliver) {
		w.e.log.Warn("unknown schema, will redeliver", "schema", id, "type", w.ev.Type, "err", err)
		it.retry = true
		return nil, false
	}
	field := "dataschema"
	if _, ok := reg.Latest(w.ev.Type); !ok {
		field = "type"
	}
	w.deadLetter(it, bus.Rejection{Kind: "unknown-schema", Field: field, Reason: fmt.Sprintf("schema %q unknown to this engine (bundle %s): %v", id, reg.BundleHash, err)})
	return nil, false
}

// resolve finds the schema an event's dataschema names (dataschema.ID),
// else the latest of its type.
func resolve(reg *rules.Registry, eventType, ds string) (*rules.Schema, error) {
	if ds == "" {
		if s, ok := reg.Latest(eventType); ok {
			return s, nil
		}
		return nil, fmt.Errorf("unknown event type %q", eventType)
	}
	id, err := dataschema.ID(eventType, ds)
	if err != nil {
		return nil, err
	}
	if s, ok := reg.Schema(id); ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown schema %s", id)
}

// decode fills f from data. An event that names its schema in Er-Schema was
// validated against it by ingest or the runner (only they publish to
// ER_PROC), so validating again would repeat the work for every event;
// one without is validated here.
func decode(f rules.Fact, data []byte, validated bool) error {
	if !validated {
		return rules.Decode(f, data)
	}
	var v rules.Violations
	if err := f.DecodeJSON(data, &v); err != nil {
		return err
	}
	return v.Err()
}

func dataRejection(s *rules.Schema, err error) bus.Rejection {
	var ve *rules.ValidationError
	if errors.As(err, &ve) && len(ve.Violations) > 0 {
		return bus.Rejection{Kind: "invalid-data", Field: "data." + ve.Violations[0].Path, Reason: "does not match " + s.ID + ": " + ve.Error()}
	}
	return bus.Rejection{Kind: "malformed", Field: "data", Reason: err.Error()}
}

// runRules runs the bound knowledge bases in name order over f; a failure
// dead-letters the event naming the knowledge base (and rule).
func (w *worker) runRules(it *item, bound *boundKBs, f rules.Fact) bool {
	x := &w.x
	x.Reset()
	ev := &w.ev
	x.Event.ID, x.Event.Type, x.Event.Source = ev.ID, ev.Type, ev.Source
	x.Event.Subject, x.Event.Time, x.Event.TenantID = ev.Subject, ev.Time, ev.TenantID
	for _, kb := range bound.kbs {
		start := len(x.Fired)
		err := rules.Run(kb, x, f)
		w.e.metrics.fired(it.tenant, kb.Name(), x.Fired[start:])
		if err != nil {
			field := kb.Name()
			var re *rules.RuleError
			if errors.As(err, &re) {
				field += "." + re.Rule
			}
			w.deadLetter(it, bus.Rejection{Kind: kindOf(err), Field: field,
				Reason: fmt.Sprintf("knowledge base %s@%s: %v", kb.Name(), kb.Version(), err)})
			return false
		}
	}
	return true
}

// output builds the processed event, its record and its tenant-stream message.
func (w *worker) output(rs *RuleSet, it *item, s *rules.Schema, bound *boundKBs, f rules.Fact, arena []byte) []byte {
	ev, x := &w.ev, &w.x
	if url, ok := w.e.dataschemas[s]; ok {
		ev.DataSchema = url
	}
	w.data = f.AppendJSON(w.data[:0])
	w.ext = w.ext[:0]
	if bound.versions != "" {
		w.ext = append(w.ext, cloudevents.Extension{Name: AttrKB, Value: bound.versions})
	}
	if rs.bundle != "" {
		w.ext = append(w.ext, cloudevents.Extension{Name: AttrBundle, Value: rs.bundle})
	}
	w.ext = appendList(w.ext, AttrFired, x.Fired)
	w.ext = appendList(w.ext, AttrTags, x.Event.Tags())
	w.ext = appendList(w.ext, AttrRoute, x.Event.Routes())
	if x.Event.IsDropped() {
		w.ext = append(w.ext, cloudevents.Extension{Name: AttrDropped, Value: "true", Raw: true})
	} else {
		w.ext = append(w.ext, cloudevents.Extension{Name: AttrDropped, Value: "false", Raw: true})
	}
	start := len(arena)
	arena = cloudevents.Append(arena, ev, w.data, w.ext)
	body := arena[start:len(arena):len(arena)]
	tm, _ := time.Parse(time.RFC3339Nano, ev.Time)
	// Input (the data as it arrived, for replays through other rules:
	// rules diff) aliases the message body, which outlives the batch's Put.
	it.rec = store.Record{
		Tenant: it.tenant, ID: ev.ID, Type: ev.Type, Source: ev.Source, Subject: ev.Subject,
		Time: tm, SchemaID: s.ID, Event: body, Input: ev.Data,
	}
	it.hasRec = true
	if x.Event.IsDropped() {
		return arena
	}
	out := &nats.Msg{Subject: "er.t." + it.tenant + "." + ev.Type, Data: body, Header: make(nats.Header, 5)}
	out.Header[bus.HeaderMsgID] = []string{bus.MsgID(it.tenant, ev.Source, ev.ID)}
	out.Header[bus.HeaderContentType] = []string{bus.ContentTypeCloudEvents}
	out.Header[bus.HeaderTenant] = []string{it.tenant}
	out.Header[bus.HeaderSchema] = []string{s.ID}
	if !it.ingest.IsZero() {
		out.Header[bus.HeaderIngestTime] = []string{bus.FormatTime(it.ingest)}
	}
	it.out = out
	return arena
}

// appendList adds a comma-separated list attribute when the list is not
// empty (CloudEvents attributes are absent rather than empty).
func appendList(ext []cloudevents.Extension, name string, vals []string) []cloudevents.Extension {
	if len(vals) == 0 {
		return ext
	}
	return append(ext, cloudevents.Extension{Name: name, Value: strings.Join(vals, ",")})
}
