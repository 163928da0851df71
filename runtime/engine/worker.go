package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/store"
)

// item is one event of a batch on its way through the engine: a message of
// its own, or one part of an envelope (the items of an envelope are
// consecutive and share msg).
type item struct {
	msg    jetstream.Msg
	part   int    // 1-based position in the envelope; 0 for a lone event
	schema string // the schema ingest or the runner validated it against
	body   []byte // the structured CloudEvent
	tenant string
	ingest time.Time // when eventrunner accepted the event
	rec    store.Record
	hasRec bool
	out    *nats.Msg // the tenant-stream or ER_DLQ message; nil when dropped
	dead   bool      // out is a dead letter
	kind   string    // dead-letter kind
	retry  bool      // settle with a delayed nak
	pubErr error
}

// worker is one fetch loop with its own reusable state: a fact per schema,
// the rules.Exec, the scratch buffers of a batch.
type worker struct {
	e     *Engine
	x     rules.Exec
	facts map[*rules.Schema]rules.Fact
	ev    cloudevents.Event
	data  []byte
	ext   []cloudevents.Extension
	items []item
	recs  []store.Record
	outs  []*nats.Msg
	errs  []error
	// pubIdx maps outs[j] back to items[pubIdx[j]].
	pubIdx []int
}

func newWorker(e *Engine) *worker {
	return &worker{e: e, facts: map[*rules.Schema]rules.Fact{}}
}

// outputSlack is what a processed event may add to the event as received:
// the absolute dataschema, tenantid and the engine's extensions (knowledge
// base versions, bundle, fired rules, tags, routes), ~300 bytes for the
// example rules.
const outputSlack = 512

// handle runs one batch: rules for every event, one store Put, one publish
// round, then each message is acked, or nakked when its store write or
// publish failed.
func (w *worker) handle(ctx context.Context, msgs []jetstream.Msg) {
	m := w.e.metrics
	rs := w.e.rules.Load() // one rule set for the whole batch
	start := time.Now()
	w.items = w.items[:0]
	for _, msg := range msgs {
		w.unpack(msg)
	}
	// Processed events are carved out of one buffer per batch: the store
	// and the publisher copy them before Put and PublishBatch return. It is
	// sized per event, not per message (an envelope holds hundreds), with
	// room for the attributes the engine adds, so that it never grows:
	// doubling it copied every event once more (~2% of the pipeline).
	size := 0
	for i := range w.items {
		size += len(w.items[i].body) + outputSlack
	}
	arena := make([]byte, 0, size)
	for i := range w.items {
		arena = w.process(rs, &w.items[i], arena)
	}
	m.stage.WithLabelValues("rules").Observe(time.Since(start).Seconds())
	m.batch.Observe(float64(len(msgs)))

	// The store write and the tenant-stream publish are independent and
	// both idempotent, so they run at once; a message is acked only when
	// both succeeded.
	w.snapshotOuts()
	var storeTime time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.Now()
		w.store(ctx)
		storeTime = time.Since(t)
	}()
	t := time.Now()
	w.publish(ctx)
	pubTime := time.Since(t)
	wg.Wait()
	stored := time.Now()
	w.publishLateDeadLetters(ctx)
	m.stage.WithLabelValues("store").Observe(storeTime.Seconds())
	m.stage.WithLabelValues("publish").Observe(pubTime.Seconds())
	w.settle(stored)
	clear(w.items)
	clear(w.recs)
	clear(w.outs)
	clear(w.pubIdx)
}

// unpack adds the events of msg to the batch: one item, or one per part of
// an envelope. An envelope that does not parse is dead-lettered whole.
func (w *worker) unpack(msg jetstream.Msg) {
	start := len(w.items)
	err := bus.EachEvent(msg.Headers(), msg.Data(), func(part int, schemaID string, event []byte) error {
		w.items = append(w.items, item{msg: msg, part: part, schema: schemaID, body: event})
		return nil
	})
	if err == nil && len(w.items) == start {
		err = errors.New("bus: empty envelope")
	}
	if err == nil {
		return
	}
	clear(w.items[start:])
	w.items = append(w.items[:start], item{msg: msg, body: msg.Data()})
	w.deadLetter(&w.items[start], bus.Rejection{Kind: "malformed", Field: "body", Reason: err.Error()})
}

// store writes the batch's records in one Put. A Put the store refuses as
// invalid is retried record by record so that only the culprits are
// dead-lettered; any other failure marks the batch for redelivery.
func (w *worker) store(ctx context.Context) {
	w.recs = w.recs[:0]
	for i := range w.items {
		if it := &w.items[i]; it.hasRec && !it.retry {
			w.recs = append(w.recs, it.rec)
		}
	}
	if len(w.recs) == 0 {
		return
	}
	err := w.put(ctx, w.recs)
	if err == nil {
		return
	}
	invalid := errors.Is(err, store.ErrInvalid)
	if !invalid {
		w.e.log.Warn("store put failed, will redeliver", "records", len(w.recs), "err", err)
	}
	for i := range w.items {
		it := &w.items[i]
		if !it.hasRec || it.retry {
			continue
		}
		if !invalid {
			it.retry = true
			continue
		}
		if err := w.put(ctx, []store.Record{it.rec}); errors.Is(err, store.ErrInvalid) {
			w.deadLetter(it, bus.Rejection{Kind: "store-rejected", Reason: err.Error()})
		} else if err != nil {
			it.retry = true
		}
	}
}

// put retries transient failures briefly before giving up.
func (w *worker) put(ctx context.Context, recs []store.Record) error {
	var err error
	for attempt, wait := 0, 50*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*5 {
		if err = w.e.opts.Store.Put(ctx, recs); err == nil || errors.Is(err, store.ErrInvalid) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
	return err
}

// snapshotOuts lists the messages to publish before the store runs, so
// that publish reads nothing the store may change concurrently.
func (w *worker) snapshotOuts() {
	w.outs, w.errs, w.pubIdx = w.outs[:0], w.errs[:0], w.pubIdx[:0]
	for i := range w.items {
		if it := &w.items[i]; it.out != nil && !it.retry {
			w.outs = append(w.outs, it.out)
			w.errs = append(w.errs, nil)
			w.pubIdx = append(w.pubIdx, i)
		}
	}
}

// publish sends the snapshot of processed events and dead letters in one
// round of acks and records each outcome.
func (w *worker) publish(ctx context.Context) {
	if len(w.outs) == 0 {
		return
	}
	_ = w.e.pub.PublishBatch(ctx, w.outs, w.errs)
	for j, i := range w.pubIdx {
		w.items[i].pubErr = w.errs[j]
	}
}

// publishLateDeadLetters publishes the dead letters the store produced
// (records it refused as invalid) after the snapshot was taken.
func (w *worker) publishLateDeadLetters(ctx context.Context) {
	published := make(map[*nats.Msg]bool, len(w.outs))
	for _, o := range w.outs {
		published[o] = true
	}
	w.outs, w.errs, w.pubIdx = w.outs[:0], w.errs[:0], w.pubIdx[:0]
	for i := range w.items {
		if it := &w.items[i]; it.dead && it.out != nil && !published[it.out] {
			w.outs = append(w.outs, it.out)
			w.errs = append(w.errs, nil)
			w.pubIdx = append(w.pubIdx, i)
		}
	}
	w.publish(ctx)
}

// settle acks or naks every message and records the outcome of each
// event. An envelope is acked only when every one of its events is done;
// otherwise it is nakked whole, and the redelivery repeats the events
// already stored and published harmlessly (both are idempotent).
func (w *worker) settle(stored time.Time) {
	m := w.e.metrics
	for start := 0; start < len(w.items); {
		msg := w.items[start].msg
		end, retry := start, false
		for ; end < len(w.items) && w.items[end].msg == msg; end++ {
			if it := &w.items[end]; it.retry || it.pubErr != nil {
				retry = true
				if it.pubErr != nil {
					w.e.log.Warn("publish failed, will redeliver", "subject", it.out.Subject, "err", it.pubErr)
				}
			}
		}
		if retry {
			_ = msg.NakWithDelay(w.retryDelay(msg))
			m.events.WithLabelValues("retry").Add(float64(end - start))
			start = end
			continue
		}
		if err := msg.Ack(); err != nil {
			w.e.log.Warn("ack", "subject", msg.Subject(), "err", err)
		}
		for i := start; i < end; i++ {
			w.count(&w.items[i], stored)
		}
		start = end
	}
}

// count records the outcome of a settled event.
func (w *worker) count(it *item, stored time.Time) {
	m := w.e.metrics
	switch {
	case it.dead:
		m.events.WithLabelValues("dlq").Inc()
		m.dlq.WithLabelValues(it.kind).Inc()
	case it.out == nil:
		m.events.WithLabelValues("dropped").Inc()
	default:
		m.events.WithLabelValues("processed").Inc()
	}
	if it.hasRec && !it.ingest.IsZero() {
		m.ingestToStored.Observe(stored.Sub(it.ingest).Seconds())
	}
}

// retryDelay doubles with each delivery: 1 s, 2 s, 4 s … 30 s.
func (w *worker) retryDelay(msg jetstream.Msg) time.Duration {
	md, err := msg.Metadata()
	if err != nil || md.NumDelivered == 0 {
		return time.Second
	}
	return min(time.Second<<min(md.NumDelivered-1, 5), 30*time.Second)
}

// deadLetter replaces the item's outcome with a dead letter.
func (w *worker) deadLetter(it *item, r bus.Rejection) {
	r.Stage = Stage
	tenant := it.tenant
	if tenant == "" {
		tenant = bus.TenantOfSubject(it.msg.Subject())
	}
	it.hasRec, it.dead, it.kind = false, true, r.Kind
	o := bus.OriginOf(it.msg)
	if it.part > 0 {
		o = bus.EnvelopePart(o, it.part, it.schema, it.body)
	}
	it.out = bus.DLQMsg(tenant, o, r)
	w.e.log.Debug("dead letter", "subject", it.msg.Subject(), "kind", r.Kind, "field", r.Field, "reason", r.Reason)
}

func (w *worker) fact(s *rules.Schema) rules.Fact {
	f := w.facts[s]
	if f == nil {
		f = s.New()
		w.facts[s] = f
	}
	return f
}

// deliveries is how often msg has been delivered (1 on the first).
func deliveries(msg jetstream.Msg) uint64 {
	if md, err := msg.Metadata(); err == nil {
		return md.NumDelivered
	}
	return 1
}

func kindOf(err error) string {
	var mc *rules.MaxCycleError
	var re *rules.RuleError
	switch {
	case errors.As(err, &mc):
		return "max-cycles"
	case errors.As(err, &re):
		return "rule-error"
	}
	return "internal"
}
