package accept

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Kind classifies why an event was refused. It is the Er-Dlq-Kind header
// and tells HTTP ingest which status to answer.
type Kind string

const (
	// KindMalformed: the message is not a readable event (bad JSON, bad
	// base64): HTTP 400.
	KindMalformed Kind = "malformed"
	// KindAttribute: a CloudEvents attribute breaks the spec or cannot be
	// used (e.g. a type with a space): HTTP 400.
	KindAttribute Kind = "attribute"
	// KindTenant: the tenant id is invalid or differs from the
	// credential's: HTTP 403.
	KindTenant Kind = "tenant"
	// KindUnknownType: no schema exists for the event type: HTTP 422.
	KindUnknownType Kind = "unknown-type"
	// KindUnknownSchema: dataschema is not of an accepted form, or names a
	// version that does not exist or another type: HTTP 422.
	KindUnknownSchema Kind = "unknown-schema"
	// KindInvalidData: data breaks its schema: HTTP 422.
	KindInvalidData Kind = "invalid-data"
	// KindInternal: processing the event panicked (a bug, not the
	// producer's fault).
	KindInternal Kind = "internal"
)

// Error says why an event is refused, naming the field: an attribute
// ("specversion", "type"), or for data the JSON path of the first
// violation ("data.$.items[0].qty"), with every violation listed.
type Error struct {
	Kind   Kind
	Field  string
	Reason string
	// Violations lists every schema violation (KindInvalidData).
	Violations []rules.Violation
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Rejection is the dead-letter description of e.
func (e *Error) Rejection(stage string) bus.Rejection {
	return bus.Rejection{Stage: stage, Kind: string(e.Kind), Field: e.Field, Reason: e.Error()}
}

// Validated is an event that passed Normalize, ready for ER_PROC.
type Validated struct {
	// Event has TenantID and Time filled.
	Event  *cloudevents.Event
	Schema *rules.Schema
	// Subject is er.proc.<tenant>.<type>.
	Subject string
}

// MsgID is the event's deduplication id, <tenant>/<source>/<id>.
func (v *Validated) MsgID() string {
	return bus.MsgID(v.Event.TenantID, v.Event.Source, v.Event.ID)
}

// Msg is the ER_PROC message of the event: the structured CloudEvent with
// Nats-Msg-Id, the tenant, the schema ID and the ingest time in headers.
func (v *Validated) Msg(ingest time.Time) *nats.Msg {
	m := &nats.Msg{
		Subject: v.Subject,
		Header:  make(nats.Header, 5),
		Data:    cloudevents.Append(make([]byte, 0, 256+len(v.Event.Data)), v.Event, v.Event.Data, nil),
	}
	m.Header[bus.HeaderMsgID] = []string{v.MsgID()}
	m.Header[bus.HeaderContentType] = []string{bus.ContentTypeCloudEvents}
	m.Header[bus.HeaderTenant] = []string{v.Event.TenantID}
	m.Header[bus.HeaderSchema] = []string{v.Schema.ID}
	m.Header[bus.HeaderIngestTime] = []string{bus.FormatTime(ingest)}
	return m
}

// Normalizer validates events against a registry's schemas, reusing
// decoded facts. It is safe for concurrent use.
type Normalizer struct {
	reg  *rules.Registry
	base dataschema.Base
	// urls is the canonical dataschema of each schema, built once, and
	// byURL its inverse: an event naming one is resolved without parsing.
	urls  map[*rules.Schema]string
	byURL map[string]*rules.Schema
	pools sync.Map // *rules.Schema → *sync.Pool of rules.Fact
	now   func() time.Time
}

// NewNormalizer returns a Normalizer over reg. With a base, every valid
// event leaves with the canonical dataschema of the schema version it was
// validated against (base.URL), whatever form it came with, or none;
// without one, dataschema is left as sent.
func NewNormalizer(reg *rules.Registry, base dataschema.Base) *Normalizer {
	n := &Normalizer{reg: reg, base: base, now: time.Now, urls: map[*rules.Schema]string{}, byURL: map[string]*rules.Schema{}}
	if base != "" {
		for _, s := range reg.Schemas() {
			n.urls[s] = base.URL(s.ID)
			n.byURL[n.urls[s]] = s
		}
	}
	return n
}

var defaultNormalizers sync.Map // *rules.Registry → *Normalizer

// Normalize checks ev for tenant with a Normalizer shared per registry; see
// Normalizer.Normalize.
func Normalize(reg *rules.Registry, tenant string, ev *cloudevents.Event) (*Validated, error) {
	n, ok := defaultNormalizers.Load(reg)
	if !ok {
		n, _ = defaultNormalizers.LoadOrStore(reg, NewNormalizer(reg, ""))
	}
	return n.(*Normalizer).Normalize(tenant, ev)
}

// Normalize checks that ev is an acceptable event of tenant and returns it
// validated, or an *Error naming the field and the reason. It fills
// ev.TenantID (an event naming another tenant is refused), when absent
// ev.Time with the current time, so that every stored event has a time,
// and with a base ev.DataSchema with the canonical URL of its schema.
func (n *Normalizer) Normalize(tenant string, ev *cloudevents.Event) (*Validated, error) {
	if err := bus.CheckTenant(tenant); err != nil {
		return nil, &Error{Kind: KindTenant, Field: "tenantid", Reason: err.Error(), Err: err}
	}
	switch ev.TenantID {
	case "":
		ev.TenantID = tenant
	case tenant:
	default:
		return nil, &Error{Kind: KindTenant, Field: "tenantid", Reason: fmt.Sprintf("the event names tenant %q, the credential belongs to %q", ev.TenantID, tenant)}
	}
	if err := ev.CheckIncoming(); err != nil {
		return nil, AttributeRefusal(err)
	}
	if err := bus.CheckType(ev.Type); err != nil {
		return nil, &Error{Kind: KindAttribute, Field: "type", Reason: "cannot be used in a subject: " + err.Error(), Err: err}
	}
	if !cloudevents.IsJSONContentType(ev.DataContentType) {
		return nil, &Error{Kind: KindAttribute, Field: "datacontenttype", Reason: fmt.Sprintf("must be JSON (application/json or a +json type) to be validated, got %q", ev.DataContentType)}
	}
	s, err := n.schema(ev)
	if err != nil {
		return nil, err
	}
	if err := n.validate(s, ev.Data); err != nil {
		return nil, err
	}
	if ev.Time == "" {
		ev.Time = n.now().UTC().Format(time.RFC3339Nano)
	}
	subject, err := bus.ProcSubject(tenant, ev.Type)
	if err != nil { // checked above; kept for safety
		return nil, &Error{Kind: KindAttribute, Field: "type", Reason: err.Error(), Err: err}
	}
	return &Validated{Event: ev, Schema: s, Subject: subject}, nil
}

// AttributeRefusal is the refusal for an event whose attributes break the
// spec (a *cloudevents.AttributeError names the attribute).
func AttributeRefusal(err error) *Error {
	var ae *cloudevents.AttributeError
	if errors.As(err, &ae) {
		return &Error{Kind: KindAttribute, Field: ae.Attribute, Reason: ae.Reason, Err: err}
	}
	return &Error{Kind: KindAttribute, Reason: err.Error(), Err: err}
}

// ParseRefusal is the refusal for a structured event cloudevents.Parse
// refused: malformed JSON (the body), or attributes that break the spec.
func ParseRefusal(err error) *Error {
	var syn *cloudevents.SyntaxError
	if errors.As(err, &syn) {
		return &Error{Kind: KindMalformed, Field: "body", Reason: syn.Error(), Err: err}
	}
	return AttributeRefusal(err)
}

// schema resolves the schema version of ev: the one dataschema names (see
// dataschema.ID for the accepted forms), else the latest version of its
// type; with a base, ev.DataSchema becomes the version's canonical URL.
func (n *Normalizer) schema(ev *cloudevents.Event) (*rules.Schema, error) {
	s, ok := n.reg.Latest(ev.Type)
	if !ok {
		return nil, &Error{Kind: KindUnknownType, Field: "type", Reason: fmt.Sprintf("unknown event type %q: no schema in this bundle", ev.Type)}
	}
	if named, ok := n.byURL[ev.DataSchema]; ok && named.Type == ev.Type {
		return named, nil // already canonical
	}
	if ev.DataSchema != "" {
		id, err := dataschema.ID(ev.Type, ev.DataSchema)
		if err != nil {
			return nil, &Error{Kind: KindUnknownSchema, Field: "dataschema", Reason: err.Error() + "; " + n.hint(s), Err: err}
		}
		if s, ok = n.reg.Schema(id); !ok {
			return nil, &Error{Kind: KindUnknownSchema, Field: "dataschema", Reason: fmt.Sprintf("unknown schema %s: %s", id, n.versions(ev.Type))}
		}
	}
	if url, ok := n.urls[s]; ok {
		ev.DataSchema = url
	}
	return s, nil
}

// hint shows the canonical dataschema of latest.
func (n *Normalizer) hint(latest *rules.Schema) string {
	if n.base == "" {
		return "the latest version is " + latest.ID
	}
	return "the latest version is " + n.base.URL(latest.ID)
}

// versions lists the schema versions of eventType, for an error.
func (n *Normalizer) versions(eventType string) string {
	var ids []string
	for _, s := range n.reg.Schemas() {
		if s.Type == eventType {
			ids = append(ids, "v"+strconv.Itoa(s.Version))
		}
	}
	where := ""
	if n.base != "" {
		where = " (" + n.base.Catalog() + ")"
	}
	return fmt.Sprintf("%s has %s in this bundle%s", eventType, strings.Join(ids, ", "), where)
}

// validate decodes data into a pooled fact of s and runs its validator.
func (n *Normalizer) validate(s *rules.Schema, data []byte) error {
	if data == nil {
		return &Error{Kind: KindInvalidData, Field: "data", Reason: fmt.Sprintf("required: %s events carry a JSON object", s.ID)}
	}
	pool := n.pool(s)
	f := pool.Get().(rules.Fact)
	err := rules.Decode(f, data)
	pool.Put(f)
	if err == nil {
		return nil
	}
	var ve *rules.ValidationError
	if errors.As(err, &ve) && len(ve.Violations) > 0 {
		return &Error{
			Kind:       KindInvalidData,
			Field:      "data." + ve.Violations[0].Path,
			Reason:     "does not match " + s.ID + ": " + joinViolations(ve.Violations),
			Violations: ve.Violations,
			Err:        err,
		}
	}
	return &Error{Kind: KindMalformed, Field: "data", Reason: err.Error(), Err: err}
}

func (n *Normalizer) pool(s *rules.Schema) *sync.Pool {
	if p, ok := n.pools.Load(s); ok {
		return p.(*sync.Pool)
	}
	p, _ := n.pools.LoadOrStore(s, &sync.Pool{New: func() any { return s.New() }})
	return p.(*sync.Pool)
}

func joinViolations(vs []rules.Violation) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// Acceptor normalises events and publishes the valid ones to ER_PROC,
// waiting for their PubAcks: the publish path of HTTP and gRPC ingest. The
// valid events of a request travel in envelopes (bus.EnvelopeSubject), and
// small concurrent requests of one tenant share an envelope (group commit,
// see Linger), so that a JetStream write and an engine delivery serve many
// events. Share one Acceptor between the ingest APIs.
type Acceptor struct {
	Normalizer *Normalizer
	Publisher  *bus.Publisher
	// Now is the ingest clock; nil means time.Now.
	Now func() time.Time
	// Linger is how long a request with fewer than GroupEvents valid
	// events waits for others of its tenant to share its envelope; default
	// 1 ms, negative publishes every request on its own.
	Linger time.Duration
	// GroupEvents is the size from which a request is published at once,
	// and at which a group stops waiting; default 64.
	GroupEvents int
	// MaxEnvelope caps an envelope's body; default 512 KiB, and never more
	// than half the server's max_payload.
	MaxEnvelope int

	mu     sync.Mutex
	groups map[string]*group // the open group of each tenant
}

// entry is one valid event on its way to ER_PROC.
type entry struct {
	subject string // er.proc.<tenant>.<type>, for a lone event
	schema  string
	msgID   string
	event   []byte // the structured CloudEvent
}

// group collects the entries of concurrent requests of one tenant until its
// linger ends or it is full; errs holds each entry's outcome once done is
// closed.
type group struct {
	tenant  string
	ingest  time.Time
	entries []entry
	errs    []error
	done    chan struct{}
}

// Accept returns one outcome per event: nil once stored in ER_PROC, an
// *Error when the event is refused (nothing is published for it), or the
// publish error (the event may be retried: the store and the tenant stream
// keep one copy of an event however often it arrives).
func (a *Acceptor) Accept(ctx context.Context, tenant string, evs []*cloudevents.Event) []error {
	ingest := a.now()
	out := make([]error, len(evs))
	entries := make([]entry, 0, len(evs))
	idx := make([]int, 0, len(evs))
	var seen map[string]int // msg id → entry, when the request repeats an event
	var dups [][2]int       // out[dups[k][0]] shares entry dups[k][1]'s outcome
	if len(evs) > 1 {
		seen = make(map[string]int, len(evs))
	}
	for i, ev := range evs {
		v, err := a.Normalizer.Normalize(tenant, ev)
		if err != nil {
			out[i] = err
			continue
		}
		if seen != nil {
			id := v.MsgID()
			if j, ok := seen[id]; ok {
				dups = append(dups, [2]int{i, j})
				continue
			}
			seen[id] = len(entries)
		}
		entries = append(entries, entry{
			subject: v.Subject,
			schema:  v.Schema.ID,
			msgID:   v.MsgID(),
			event:   cloudevents.Append(make([]byte, 0, 256+len(ev.Data)), ev, ev.Data, nil),
		})
		idx = append(idx, i)
	}
	if len(entries) == 0 {
		return out
	}
	var errs []error
	if a.linger() < 0 || len(entries) >= a.groupEvents() {
		errs = a.publish(ctx, tenant, ingest, entries)
	} else {
		errs = a.join(ctx, tenant, ingest, entries)
	}
	for j, err := range errs {
		out[idx[j]] = err
	}
	for _, d := range dups {
		out[d[0]] = errs[d[1]]
	}
	return out
}

// join adds entries to the tenant's open group (opening one that flushes
// after the linger) and waits for the group's outcome.
func (a *Acceptor) join(ctx context.Context, tenant string, ingest time.Time, entries []entry) []error {
	a.mu.Lock()
	if a.groups == nil {
		a.groups = map[string]*group{}
	}
	g := a.groups[tenant]
	if g == nil {
		g = &group{tenant: tenant, ingest: ingest, done: make(chan struct{})}
		a.groups[tenant] = g
		time.AfterFunc(a.linger(), func() { a.flush(g) })
	}
	first := len(g.entries)
	g.entries = append(g.entries, entries...)
	full := len(g.entries) >= a.groupEvents()
	a.mu.Unlock()
	if full {
		go a.flush(g)
	}
	select {
	case <-g.done:
		return g.errs[first : first+len(entries)]
	case <-ctx.Done():
		errs := make([]error, len(entries))
		for i := range errs {
			errs[i] = fmt.Errorf("accept: waiting for the PubAck: %w", ctx.Err())
		}
		return errs
	}
}

// flush closes g to newcomers and publishes it (once: the linger's timer and
// a full group may both call it).
func (a *Acceptor) flush(g *group) {
	a.mu.Lock()
	if a.groups[g.tenant] != g {
		a.mu.Unlock()
		return
	}
	delete(a.groups, g.tenant)
	a.mu.Unlock()
	// The requests waiting on g have deadlines of their own; the publish
	// gets the time a PubAck may reasonably take, however they end.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g.errs = a.publish(ctx, g.tenant, g.ingest, g.entries)
	close(g.done)
}

// publish sends entries to ER_PROC in envelopes of at most MaxEnvelope
// bytes (a lone event as a message of its own) with one round of PubAcks,
// and returns each entry's outcome.
func (a *Acceptor) publish(ctx context.Context, tenant string, ingest time.Time, entries []entry) []error {
	limit := a.maxEnvelope()
	var msgs []*nats.Msg
	var spans [][2]int // entries[spans[k][0]:spans[k][1]] travel in msgs[k]
	for start := 0; start < len(entries); {
		end, size := start+1, bus.EnvelopeEntrySize(entries[start].schema, entries[start].event)
		for end < len(entries) {
			n := bus.EnvelopeEntrySize(entries[end].schema, entries[end].event)
			if size+n > limit {
				break
			}
			end, size = end+1, size+n
		}
		m, err := envelope(tenant, ingest, entries[start:end], size)
		if err != nil {
			return fill(make([]error, len(entries)), err)
		}
		msgs = append(msgs, m)
		spans = append(spans, [2]int{start, end})
		start = end
	}
	pubErrs := make([]error, len(msgs))
	_ = a.Publisher.PublishBatch(ctx, msgs, pubErrs)
	errs := make([]error, len(entries))
	for k, sp := range spans {
		fill(errs[sp[0]:sp[1]], pubErrs[k])
	}
	return errs
}

// envelope is the ER_PROC message of entries: an envelope, or the event's
// own message when there is one.
func envelope(tenant string, ingest time.Time, entries []entry, size int) (*nats.Msg, error) {
	m := &nats.Msg{Header: make(nats.Header, 5)}
	m.Header[bus.HeaderTenant] = []string{tenant}
	m.Header[bus.HeaderIngestTime] = []string{bus.FormatTime(ingest)}
	if len(entries) == 1 {
		e := entries[0]
		m.Subject, m.Data = e.subject, e.event
		m.Header[bus.HeaderMsgID] = []string{e.msgID}
		m.Header[bus.HeaderContentType] = []string{bus.ContentTypeCloudEvents}
		m.Header[bus.HeaderSchema] = []string{e.schema}
		return m, nil
	}
	subject, err := bus.EnvelopeSubject(tenant)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	body := make([]byte, 0, size)
	for i, e := range entries {
		ids[i] = e.msgID
		body = bus.AppendEnvelopeEntry(body, e.schema, e.event)
	}
	m.Subject, m.Data = subject, body
	m.Header[bus.HeaderMsgID] = []string{bus.EnvelopeMsgID(ids)}
	m.Header[bus.HeaderContentType] = []string{bus.ContentTypeEnvelope}
	m.Header[bus.HeaderEnvelopeCount] = []string{strconv.Itoa(len(entries))}
	return m, nil
}

func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (a *Acceptor) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Acceptor) linger() time.Duration {
	if a.Linger == 0 {
		return time.Millisecond
	}
	return a.Linger
}

func (a *Acceptor) groupEvents() int {
	if a.GroupEvents <= 0 {
		return 64
	}
	return a.GroupEvents
}

func (a *Acceptor) maxEnvelope() int {
	limit := a.MaxEnvelope
	if limit <= 0 {
		limit = 512 << 10
	}
	if mp := a.Publisher.JetStream().Conn().MaxPayload(); mp > 0 {
		limit = min(limit, int(mp)/2)
	}
	return limit
}
