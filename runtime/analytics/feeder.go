package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// FeederOptions tunes a Feeder. The zero value gives the defaults.
type FeederOptions struct {
	// Durable is the JetStream consumer's name on every tenant stream,
	// shared by every process that feeds the same ClickHouse (default
	// "er-analytics").
	Durable string
	// MaxRows is the largest insert (default 5000).
	MaxRows int
	// FlushInterval is how long a batch may wait to fill (default 1 s): at
	// low rates, one insert per interval keeps ClickHouse's parts few.
	FlushInterval time.Duration
	// AckWait is how long a pulled event may stay unacknowledged before
	// JetStream redelivers it (default 30 s).
	AckWait time.Duration
	// Metrics registers the feeder's series (rows, inserts, and each
	// tenant consumer's lag); nil keeps them unexported.
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

func (o FeederOptions) withDefaults() FeederOptions {
	if o.Durable == "" {
		o.Durable = "er-analytics"
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 5000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// pullBatch is how many events each tenant's pull keeps buffered: enough
// to keep one busy tenant's events flowing between round trips, few enough
// that many idle tenants cost little.
func (o FeederOptions) pullBatch() int { return min(o.MaxRows, 1000) }

// Feeder copies every tenant's processed events into ClickHouse: one
// durable pull consumer per tenant stream (Add, Remove, Sync), all feeding
// one batcher, so that ClickHouse gets large inserts however the events
// are spread over tenants.
type Feeder struct {
	store   *Store
	streams *tenantnats.Streams
	opts    FeederOptions
	metrics *feederMetrics
	in      chan item // from the pullers to the batcher

	mu      sync.Mutex
	pullers map[string]*puller
	closed  bool          // Run is ending: no more Add
	quit    chan struct{} // closed with closed
	wg      sync.WaitGroup
}

// NewFeeder returns a feeder of no tenant yet: Sync (or Add) starts the
// tenants' consumers, which streams reaches (tenantnats.Streams: each
// tenant's account through the engine account's imports, or the one
// account without accounts).
func NewFeeder(streams *tenantnats.Streams, s *Store, opts FeederOptions) (*Feeder, error) {
	opts = opts.withDefaults()
	m, err := newFeederMetrics(opts.Metrics)
	if err != nil {
		return nil, err
	}
	return &Feeder{store: s, streams: streams, opts: opts, metrics: m,
		in: make(chan item, opts.pullBatch()), pullers: map[string]*puller{}, quit: make(chan struct{})}, nil
}

// batch is one insert: the rows and the messages to ack after it.
type batch struct {
	rows []Row
	msgs []jetstream.Msg
}

// Run feeds until ctx is cancelled. One goroutine collects batches of up to
// MaxRows events or FlushInterval's worth, another inserts them, so that
// the next batch fills while ClickHouse takes the last. When ctx ends,
// every tenant's pull is drained and what was pulled is inserted and
// acknowledged before Run returns ctx's error; a feeder does not run twice.
func (f *Feeder) Run(ctx context.Context) error {
	batches := make(chan *batch, 1)
	inserted := make(chan struct{})
	go func() {
		defer close(inserted)
		f.insertLoop(ctx, batches)
	}()
	f.batchLoop(ctx.Done(), false, batches)
	f.drainAll()
	idle := make(chan struct{})
	go func() { f.wg.Wait(); close(idle) }()
	f.batchLoop(idle, true, batches)
	close(batches)
	<-inserted
	return ctx.Err()
}

// batchLoop batches f.in until stop is closed, sending each batch when it
// holds MaxRows events or its first event waited FlushInterval, and the
// rest when stop closes; final (the pullers have ended) takes what is left
// in f.in first.
func (f *Feeder) batchLoop(stop <-chan struct{}, final bool, out chan<- *batch) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	b := f.newBatch()
	send := func() {
		timer.Stop()
		if len(b.msgs) > 0 {
			out <- b
			b = f.newBatch()
		}
	}
	take := func(it item) {
		f.add(b, it)
		if len(b.msgs) == 1 {
			timer.Reset(f.opts.FlushInterval)
		}
		if len(b.msgs) >= f.opts.MaxRows {
			send()
		}
	}
	for {
		select {
		case it := <-f.in:
			take(it)
		case <-timer.C:
			send()
		case <-stop:
			for final { // the pullers are gone: what they handed over counts too
				select {
				case it := <-f.in:
					take(it)
				default:
					final = false
				}
			}
			send()
			return
		}
	}
}

func (f *Feeder) newBatch() *batch {
	return &batch{rows: make([]Row, 0, f.opts.MaxRows), msgs: make([]jetstream.Msg, 0, f.opts.MaxRows)}
}

// add decodes it into b; a message that is not a processed event of its
// tenant is terminated (logged), never retried forever.
func (f *Feeder) add(b *batch, it item) {
	b.rows = append(b.rows, Row{})
	if err := decodeRow(it, &b.rows[len(b.rows)-1]); err != nil {
		b.rows = b.rows[:len(b.rows)-1]
		f.opts.Logger.Error("analytics: dropping a message that is not a processed event", "tenant", it.from.id, "subject", it.msg.Subject(), "err", err)
		if !errors.Is(err, errForeign) {
			_ = it.msg.Term()
		}
		f.metrics.events.WithLabelValues("dropped").Inc()
		return
	}
	b.msgs = append(b.msgs, it.msg)
}

// insertLoop inserts each batch, backing off after a failure (the batch is
// nakked and comes back).
func (f *Feeder) insertLoop(ctx context.Context, batches <-chan *batch) {
	backoff := 100 * time.Millisecond
	for b := range batches {
		if err := f.flush(context.WithoutCancel(ctx), b); err != nil {
			f.opts.Logger.Error("analytics: insert failed; the batch will be redelivered", "events", len(b.msgs), "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

// flush inserts b and acks its messages; on failure it naks them so that
// they come back after a delay.
func (f *Feeder) flush(ctx context.Context, b *batch) error {
	ictx, cancel := context.WithTimeout(ctx, f.opts.AckWait/2)
	defer cancel()
	start := time.Now()
	if err := f.store.Insert(ictx, b.rows, uint64(start.UnixNano())); err != nil {
		for _, m := range b.msgs {
			_ = m.NakWithDelay(time.Second)
		}
		f.metrics.events.WithLabelValues("retry").Add(float64(len(b.msgs)))
		return err
	}
	f.metrics.insert.Observe(time.Since(start).Seconds())
	f.metrics.rows.Observe(float64(len(b.rows)))
	f.metrics.events.WithLabelValues("inserted").Add(float64(len(b.msgs)))
	var errs []error
	for _, m := range b.msgs {
		if err := m.Ack(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Not fatal: the unacked rows come back and collapse into these.
		f.opts.Logger.Warn("analytics: ack after insert", "failed", len(errs), "err", errors.Join(errs...))
	}
	return nil
}

// errForeign marks a message that did not come from its tenant's stream.
var errForeign = errors.New("not from the tenant's stream")

// decodeRow reads a message of er.t.<tenant>.<type> that the tenant's
// consumer delivered. The row's tenant is that consumer's, never the
// event's tenantid attribute or a header, which whoever wrote the event
// chose.
func decodeRow(it item, r *Row) error {
	m, p := it.msg, it.from
	md, err := m.Metadata()
	if err != nil {
		return fmt.Errorf("%w: %w", errForeign, err)
	}
	if md.Stream != p.stream {
		return fmt.Errorf("%w: delivered from stream %q", errForeign, md.Stream)
	}
	typ, ok := strings.CutPrefix(m.Subject(), p.prefix)
	if !ok || typ == "" {
		return fmt.Errorf("subject %q is not %s<type>", m.Subject(), p.prefix)
	}
	var ev cloudevents.Event
	if err := cloudevents.Parse(m.Data(), &ev); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	if ev.ID == "" {
		return errors.New("event without id")
	}
	*r = Row{Tenant: p.id, ID: ev.ID, Type: typ, Source: ev.Source, Subject: ev.Subject,
		Schema: m.Headers().Get(bus.HeaderSchema), StreamSeq: md.Sequence.Stream, IngestTime: md.Timestamp}
	if ev.Time != "" {
		if r.Time, err = time.Parse(time.RFC3339Nano, ev.Time); err != nil {
			return fmt.Errorf("event: time %q: %w", ev.Time, err)
		}
	}
	if t, ok := bus.ParseTime(m.Headers().Get(bus.HeaderIngestTime)); ok {
		r.IngestTime = t
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
