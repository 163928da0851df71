package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Stage names the runner in dead letters and metrics.
const Stage = "runner"

// Options configures a Runner. Registry is required.
type Options struct {
	Registry *rules.Registry
	// SchemaBase, when set, gives every event the canonical dataschema of
	// its schema version (see accept.NewNormalizer).
	SchemaBase dataschema.Base
	// Consumer is the durable consumer's name; default "runner".
	Consumer string
	// Workers is the number of concurrent fetch loops; default GOMAXPROCS.
	Workers int
	// Batch and MaxWait size the pull requests (bus.BatchOptions).
	Batch   int
	MaxWait time.Duration
	// AckWait is how long a delivered message may stay unacknowledged
	// before it is redelivered; default 10 s. It is also how long the
	// messages of a crashed process wait (the server keeps their delivery
	// time across a restart); a batch that outlives it is processed twice,
	// harmlessly (Nats-Msg-Id).
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one message; the last failed one
	// sends it to the DLQ. Default 5.
	MaxDeliver int
	// TypeHeader is an extra header naming the type of raw JSON, looked at
	// after ce-type.
	TypeHeader string
	// DefaultType is the type of raw JSON that names none.
	DefaultType string
	// Publisher publishes to ER_PROC and ER_DLQ; default one over the
	// runner's JetStream with default options.
	Publisher *bus.Publisher
	// Metrics, when set, receives the runner's metrics.
	Metrics prometheus.Registerer
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Runner moves events from ER_RAW to ER_PROC (or ER_DLQ).
type Runner struct {
	opts    Options
	js      jetstream.JetStream
	cons    jetstream.Consumer
	norm    *accept.Normalizer
	pub     *bus.Publisher
	metrics *metrics
	log     *slog.Logger
}

// New creates or updates the runner's durable consumer on ER_RAW (the
// streams must exist: bus.EnsureStreams) and returns the Runner.
func New(ctx context.Context, js jetstream.JetStream, opts Options) (*Runner, error) {
	if opts.Registry == nil {
		return nil, errors.New("runner: Options.Registry is required")
	}
	if opts.Consumer == "" {
		opts.Consumer = "runner"
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 10 * time.Second
	}
	if opts.MaxDeliver <= 0 {
		opts.MaxDeliver = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Publisher == nil {
		opts.Publisher = bus.NewPublisher(js, bus.PublisherOptions{})
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamRaw, jetstream.ConsumerConfig{
		Durable:       opts.Consumer,
		Description:   "eventrunner runner: normalise and validate raw events",
		FilterSubject: bus.RawSubjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		MaxDeliver:    opts.MaxDeliver,
		MaxAckPending: max(4*opts.Workers*opts.Batch, 1024),
	})
	if err != nil {
		return nil, fmt.Errorf("runner: consumer %s on %s: %w", opts.Consumer, bus.StreamRaw, err)
	}
	r := &Runner{
		opts: opts, js: js, cons: cons,
		norm: accept.NewNormalizer(opts.Registry, opts.SchemaBase),
		pub:  opts.Publisher,
		log:  opts.Logger.With("component", Stage),
	}
	if r.metrics, err = newMetrics(opts.Metrics, cons); err != nil {
		return nil, err
	}
	return r, nil
}

// accept.Normalizer returns the runner's normalizer (share it with HTTP ingest).
func (r *Runner) Normalizer() *accept.Normalizer { return r.norm }

// Run consumes until ctx is cancelled, then stops fetching, finishes and
// settles the messages in hand, and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	stop, err := bus.DeadLetterMaxDeliveries(r.js, r.pub, bus.StreamRaw, r.opts.Consumer, Stage, false, func(err error) {
		r.log.Error("dead-letter after max deliveries", "err", err)
	})
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	defer stop()
	var wg sync.WaitGroup
	for w := 0; w < r.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &worker{r: r}
			_ = bus.ConsumeBatches(ctx, r.cons, bus.BatchOptions{
				Batch: r.opts.Batch, MaxWait: r.opts.MaxWait,
				OnError: func(err error) { r.log.Warn("fetch", "err", err) },
			}, wk.handle)
		}()
	}
	wg.Wait()
	// Acks are fire-and-forget: make sure the last ones reach the server
	// before the caller closes the connection.
	if err := r.js.Conn().FlushTimeout(5 * time.Second); err != nil {
		r.log.Warn("flush acks", "err", err)
	}
	return nil
}

// worker holds one fetch loop's scratch space.
type worker struct {
	r    *Runner
	out  []*nats.Msg
	dlq  []bool
	errs []error
}

// handle turns each raw message into its ER_PROC or ER_DLQ message,
// publishes them in one batch and settles each raw message by the outcome
// of its own publish.
func (w *worker) handle(ctx context.Context, msgs []jetstream.Msg) {
	r := w.r
	w.out, w.dlq, w.errs = w.out[:0], w.dlq[:0], w.errs[:0]
	for _, m := range msgs {
		out, dead := r.process(m)
		w.out = append(w.out, out)
		w.dlq = append(w.dlq, dead)
		w.errs = append(w.errs, nil)
	}
	_ = r.pub.PublishBatch(ctx, w.out, w.errs)
	for i, m := range msgs {
		if w.errs[i] != nil {
			r.failed(ctx, m, w.out[i], w.errs[i])
			continue
		}
		if err := m.Ack(); err != nil {
			r.log.Warn("ack", "subject", m.Subject(), "err", err)
		}
		r.metrics.done(m, w.dlq[i], w.out[i])
	}
	clear(w.out)
}

// process returns the message to publish for m and whether it is a dead
// letter. A panic while reading the event dead-letters it.
func (r *Runner) process(m jetstream.Msg) (out *nats.Msg, dead bool) {
	// A producer's Er-* headers are dropped before anything reads them or
	// copies them on (to a dead letter): the engine trusts them.
	raw := &rawMsg{subject: m.Subject(), header: bus.WithoutEngineHeaders(m.Headers()), data: m.Data()}
	md, err := m.Metadata()
	if err == nil {
		raw.stream, raw.seq, raw.stored = md.Stream, md.Sequence.Stream, md.Timestamp
	} else {
		raw.stored = time.Now()
	}
	tenant, subjectType, err := bus.ParseRawSubject(raw.subject)
	if err != nil {
		return r.deadLetter(m, raw, bus.TenantOfSubject(raw.subject), &accept.Error{Kind: accept.KindTenant, Field: "subject", Reason: err.Error(), Err: err}), true
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic reading an event", "subject", raw.subject, "panic", p)
			out, dead = r.deadLetter(m, raw, tenant, &accept.Error{Kind: accept.KindInternal, Reason: fmt.Sprintf("panic: %v", p)}), true
		}
	}()
	ev, err := r.eventOf(raw, subjectType)
	if err != nil {
		return r.deadLetter(m, raw, tenant, err), true
	}
	v, err := r.norm.Normalize(tenant, ev)
	if err != nil {
		return r.deadLetter(m, raw, tenant, err), true
	}
	// The ingest time is when ER_RAW stored the message: a producer's
	// Er-Ingest-Time was dropped with the other Er-* headers.
	return v.Msg(raw.stored), false
}

// deadLetter is the dead letter of m, carrying raw's headers (without the
// producer's Er-* ones).
func (r *Runner) deadLetter(m jetstream.Msg, raw *rawMsg, tenant string, err error) *nats.Msg {
	var e *accept.Error
	if !errors.As(err, &e) {
		e = &accept.Error{Kind: accept.KindInternal, Reason: err.Error(), Err: err}
	}
	r.log.Debug("dead letter", "subject", m.Subject(), "kind", e.Kind, "field", e.Field, "reason", e.Reason)
	o := bus.OriginOf(m)
	// When ER_RAW stored it is part of a raw JSON event's id and time:
	// kept so that a redrive reads the same event (Runner.Event).
	o.Header = make(nats.Header, len(raw.header)+1)
	for k, v := range raw.header {
		o.Header[k] = v
	}
	o.Header.Set(bus.HeaderIngestTime, bus.FormatTime(raw.stored))
	return bus.DLQMsg(tenant, o, e.Rejection(Stage))
}

// failed settles a message whose publish failed: redelivered later, or on
// its last delivery dead-lettered with the publish error.
func (r *Runner) failed(ctx context.Context, m jetstream.Msg, out *nats.Msg, perr error) {
	md, err := m.Metadata()
	if err == nil && md.NumDelivered >= uint64(r.opts.MaxDeliver) {
		rej := bus.Rejection{Stage: Stage, Kind: "publish-failed", Field: "", Reason: fmt.Sprintf("publishing to %s failed on delivery %d of %d: %v", out.Subject, md.NumDelivered, r.opts.MaxDeliver, perr)}
		dlq := bus.DLQMsg(bus.TenantOfSubject(m.Subject()), bus.OriginOf(m), rej)
		if _, err := r.pub.Publish(ctx, dlq); err == nil {
			_ = m.Term()
			r.metrics.dlq.WithLabelValues(rej.Kind).Inc()
			return
		}
	}
	r.log.Warn("publish failed, will redeliver", "subject", m.Subject(), "to", out.Subject, "err", perr)
	r.metrics.events.WithLabelValues("retry").Inc()
	delay := time.Second
	if err == nil {
		delay = min(time.Duration(md.NumDelivered)*time.Second, 10*time.Second)
	}
	_ = m.NakWithDelay(delay)
}
