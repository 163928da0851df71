package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// FeederOptions tunes a Feeder. The zero value gives the defaults.
type FeederOptions struct {
	// Durable is the JetStream consumer's name, shared by every process
	// that feeds the same ClickHouse (default "er-analytics").
	Durable string
	// MaxRows is the largest insert (default 5000).
	MaxRows int
	// FlushInterval is how long a batch may wait to fill (default 1 s): at
	// low rates, one insert per interval keeps ClickHouse's parts few.
	FlushInterval time.Duration
	// AckWait is how long a pulled batch may stay unacknowledged before
	// JetStream redelivers it (default 30 s).
	AckWait time.Duration
	// Metrics registers the feeder's series (rows, inserts, consumer lag);
	// nil keeps them unexported.
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

// Feeder copies processed events from ER_ANALYTICS into ClickHouse.
type Feeder struct {
	store   *Store
	cons    jetstream.Consumer
	opts    FeederOptions
	metrics *feederMetrics
}

// NewFeeder creates (or updates) the durable consumer over every tenant's
// processed events (ER_ANALYTICS, which EnsureStream must have created). It
// starts with the oldest event the stream still holds, so a new ClickHouse
// is backfilled.
func NewFeeder(ctx context.Context, js jetstream.JetStream, s *Store, opts FeederOptions) (*Feeder, error) {
	opts = opts.withDefaults()
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       opts.Durable,
		Description:   "eventrunner: processed events into ClickHouse",
		FilterSubject: "er.t.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 4 * opts.MaxRows,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: consumer %s on %s: %w", opts.Durable, StreamName, err)
	}
	m, err := newFeederMetrics(opts.Metrics, cons)
	if err != nil {
		return nil, err
	}
	return &Feeder{store: s, cons: cons, opts: opts, metrics: m}, nil
}

// Run feeds until ctx is cancelled; the batch in hand is inserted and
// acknowledged before it returns ctx's error.
func (f *Feeder) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		// No FetchContext: cancelling a pull request drops what the server
		// already sent for it; letting it run out (FlushInterval) loses
		// nothing.
		mb, err := f.cons.Fetch(f.opts.MaxRows, jetstream.FetchMaxWait(f.opts.FlushInterval))
		if err != nil {
			f.opts.Logger.Warn("analytics: fetch", "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range mb.Messages() {
			msgs = append(msgs, m)
		}
		if err := mb.Error(); err != nil && !quietFetchError(err) {
			f.opts.Logger.Warn("analytics: fetch", "err", err)
		}
		if len(msgs) == 0 {
			continue
		}
		if err := f.flush(context.WithoutCancel(ctx), msgs); err != nil {
			f.opts.Logger.Error("analytics: insert failed; the batch will be redelivered", "events", len(msgs), "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return ctx.Err()
}

// flush inserts msgs and acks them; on failure it naks them so that they
// come back after a delay. A message that is not a processed CloudEvent is
// terminated (logged), never retried forever.
func (f *Feeder) flush(ctx context.Context, msgs []jetstream.Msg) error {
	rows := make([]Row, 0, len(msgs))
	ok := msgs[:0:0]
	for _, m := range msgs {
		r, err := decodeRow(m)
		if err != nil {
			f.opts.Logger.Error("analytics: dropping a message that is not a processed event", "subject", m.Subject(), "err", err)
			_ = m.Term()
			f.metrics.events.WithLabelValues("dropped").Inc()
			continue
		}
		rows = append(rows, r)
		ok = append(ok, m)
	}
	ictx, cancel := context.WithTimeout(ctx, f.opts.AckWait/2)
	defer cancel()
	start := time.Now()
	if err := f.store.Insert(ictx, rows, uint64(start.UnixNano())); err != nil {
		for _, m := range ok {
			_ = m.NakWithDelay(time.Second)
		}
		f.metrics.events.WithLabelValues("retry").Add(float64(len(ok)))
		return err
	}
	f.metrics.insert.Observe(time.Since(start).Seconds())
	f.metrics.rows.Observe(float64(len(rows)))
	f.metrics.events.WithLabelValues("inserted").Add(float64(len(ok)))
	var errs []error
	for _, m := range ok {
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

// eventAttrs are the attributes of a structured CloudEvent the rows keep.
type eventAttrs struct {
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Type     string    `json:"type"`
	Subject  string    `json:"subject"`
	Time     time.Time `json:"time"`
	TenantID string    `json:"tenantid"`
}

// decodeRow reads a message of er.t.<tenant>.<type>.
func decodeRow(m jetstream.Msg) (Row, error) {
	tenant, typ, err := bus.ParseTenantSubject(m.Subject())
	if err != nil {
		return Row{}, err
	}
	var ev eventAttrs
	if err := json.Unmarshal(m.Data(), &ev); err != nil {
		return Row{}, fmt.Errorf("event: %w", err)
	}
	if ev.ID == "" {
		return Row{}, errors.New("event without id")
	}
	r := Row{Tenant: tenant, ID: ev.ID, Type: typ, Source: ev.Source, Subject: ev.Subject, Time: ev.Time,
		Schema: m.Headers().Get(bus.HeaderSchema)}
	if t, ok := bus.ParseTime(m.Headers().Get(bus.HeaderIngestTime)); ok {
		r.IngestTime = t
	}
	if md, err := m.Metadata(); err == nil {
		r.StreamSeq = md.Sequence.Stream
		if r.IngestTime.IsZero() {
			r.IngestTime = md.Timestamp
		}
	}
	return r, nil
}

func quietFetchError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoMessages)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
