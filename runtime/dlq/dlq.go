package dlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner"
)

// Acceptor validates a tenant's events and publishes the valid ones to
// ER_PROC: accept.Acceptor, the path of HTTP and gRPC ingest. Refusals are
// *accept.Error; any other error is a failed publish.
type Acceptor interface {
	Accept(ctx context.Context, tenant string, evs []*cloudevents.Event) []error
}

// Options wires a DLQ. Acceptor and Publisher are needed to redrive.
type Options struct {
	Acceptor Acceptor
	// Publisher publishes the new dead letter of a rejected redrive.
	Publisher *bus.Publisher
	// ReadRaw reads an event that came in on er.raw as the runner does
	// (runner.Runner.Event); without it such dead letters are rejected.
	ReadRaw func(runner.Raw) (*cloudevents.Event, error)
	// Replication of the marker bucket (as every bucket's).
	Replication bus.Replication
	// Metrics, when set, receives the redrive and purge counters.
	Metrics prometheus.Registerer
	// Limit, when set, charges the events a redrive sends to the tenant's
	// ingest rate, as ingest charges what producers send; a refusal stops
	// the redrive with a *RateLimitedError. Without it a tenant could pass
	// its rate by getting events dead-lettered and redriving them.
	Limit func(tenant string, n int) (retryAfter time.Duration, ok bool)
}

// DLQ acts on the dead letters of ER_DLQ, one tenant at a time. It is safe
// for concurrent use.
type DLQ struct {
	js      jetstream.JetStream
	stream  jetstream.Stream
	markers jetstream.KeyValue
	opts    Options
	metrics *metrics
}

// ErrNotFound is the error for a dead letter that does not exist or is
// another tenant's.
var ErrNotFound = errors.New("dlq: no such dead letter")

// Open finds ER_DLQ (bus.EnsureStreams creates it) and creates the marker
// bucket, or updates its replication; markers expire with the dead letters.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*DLQ, error) {
	s, err := js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("dlq: stream %s: %w", bus.StreamDLQ, err)
	}
	kv, err := openMarkers(ctx, js, opts.Replication, s.CachedInfo().Config.MaxAge)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, err
	}
	return &DLQ{js: js, stream: s, markers: kv, opts: opts, metrics: m}, nil
}

// Get returns dead letter seq of tenant, or ErrNotFound.
func (d *DLQ) Get(ctx context.Context, tenant string, seq uint64) (*DeadLetter, error) {
	m, err := d.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) || err == nil && m.Subject != bus.DLQSubject(tenant) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("dlq: get %d: %w", seq, err)
	}
	dl := d.describe(m)
	if dl.Redriven, err = d.marker(ctx, tenant, seq); err != nil {
		return nil, err
	}
	return dl, nil
}

// Page is one page of List.
type Page struct {
	DeadLetters []*DeadLetter `json:"dead_letters"`
	// Next is the sequence to list after for the next page; nil when the
	// stream holds no more.
	Next *uint64 `json:"next"`
}

// MaxScan bounds the dead letters one List call reads: a filter that
// matches few of them answers a short page with Next set rather than read
// the whole stream.
const MaxScan = 10000

// List returns up to limit dead letters of tenant that f matches, oldest
// first, from the one after sequence after.
func (d *DLQ) List(ctx context.Context, tenant string, f Filter, after uint64, limit int) (*Page, error) {
	marks, err := d.tenantMarkers(ctx, tenant)
	if err != nil {
		return nil, err
	}
	p := &Page{DeadLetters: []*DeadLetter{}}
	scanned, last, pastUntil := 0, after, false
	more, err := d.scan(ctx, tenant, after, f.Since, func(m *jetstream.RawStreamMsg) bool {
		if !f.Until.IsZero() && m.Time.After(f.Until) {
			pastUntil = true
			return false
		}
		scanned, last = scanned+1, m.Sequence
		dl := d.describe(m)
		dl.Redriven = marks[m.Sequence]
		if f.match(dl) {
			p.DeadLetters = append(p.DeadLetters, dl)
		}
		return len(p.DeadLetters) < limit && scanned < MaxScan
	})
	if err != nil {
		return nil, err
	}
	if more && !pastUntil {
		p.Next = &last
	}
	return p, nil
}

// each calls fn for every dead letter of tenant that f matches, oldest first,
// up to the last one stored when it starts (so that the dead letters a
// redrive produces are not selected again).
func (d *DLQ) each(ctx context.Context, tenant string, f Filter, fn func(*DeadLetter) error) error {
	marks, err := d.tenantMarkers(ctx, tenant)
	if err != nil {
		return err
	}
	var ferr error
	_, err = d.scan(ctx, tenant, 0, f.Since, func(m *jetstream.RawStreamMsg) bool {
		if !f.Until.IsZero() && m.Time.After(f.Until) {
			return false
		}
		dl := d.describe(m)
		dl.Redriven = marks[m.Sequence]
		if f.match(dl) {
			ferr = fn(dl)
		}
		return ferr == nil
	})
	return errors.Join(err, ferr)
}

// scan reads the dead letters of tenant after sequence after (or, with
// since and no after, from since on) up to the stream's last sequence when
// it starts, and passes each to fn until fn returns false. It reads through
// an ephemeral consumer that it deletes when done (and the server after a
// minute if it cannot). more reports that fn stopped the scan before its
// end.
func (d *DLQ) scan(ctx context.Context, tenant string, after uint64, since time.Time, fn func(*jetstream.RawStreamMsg) bool) (more bool, err error) {
	info, err := d.stream.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("dlq: %s: %w", bus.StreamDLQ, err)
	}
	end := info.State.LastSeq
	if after >= end {
		return false, nil
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject: bus.DLQSubject(tenant), AckPolicy: jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1,
		InactiveThreshold: time.Minute, MemoryStorage: true, Replicas: 1,
	}
	if after == 0 && !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, 0, &since
	}
	var c jetstream.Consumer
	err = bus.RetrySettling(ctx, func(ctx context.Context) (err error) { // on a cluster, just after a node (re)joined
		c, err = d.js.CreateConsumer(ctx, bus.StreamDLQ, cfg)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("dlq: read %s: %w", bus.StreamDLQ, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = d.js.DeleteConsumer(dctx, bus.StreamDLQ, c.CachedInfo().Name)
	}()
	for left := c.CachedInfo().NumPending; left > 0; {
		msgs, err := fetch(ctx, c, int(min(left, 256)))
		if err != nil {
			return false, err
		}
		if len(msgs) == 0 { // deleted meanwhile
			return false, nil
		}
		for _, m := range msgs {
			md, err := m.Metadata()
			if err != nil || md.Sequence.Stream > end {
				return false, err
			}
			raw := &jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data(), Time: md.Timestamp}
			if !fn(raw) {
				return md.NumPending > 0 && md.Sequence.Stream < end, nil
			}
			if md.NumPending == 0 {
				return false, nil
			}
		}
		left -= uint64(len(msgs))
	}
	return false, nil
}

// fetch reads up to n messages from c, waiting up to two seconds for them.
// On a cluster a consumer just created may not be reachable from this
// node for a moment (no responders): that is tried again within the wait.
func fetch(ctx context.Context, c jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for {
		out, err := fetchOnce(ctx, c, n)
		if !errors.Is(err, nats.ErrNoResponders) || ctx.Err() != nil {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func fetchOnce(ctx context.Context, c jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	batch, err := c.Fetch(n, jetstream.FetchContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("dlq: read %s: %w", bus.StreamDLQ, err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("dlq: read %s: %w", bus.StreamDLQ, err)
	}
	return out, nil
}

// describe is the DeadLetter of m, with the event as a redrive reads it.
func (d *DLQ) describe(m *jetstream.RawStreamMsg) *DeadLetter {
	ev, err := d.eventOf(m)
	if err != nil {
		ev = nil
	}
	return newDeadLetter(m, ev)
}
