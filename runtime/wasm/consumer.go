package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// DefaultBackoff is the nak delay after the 1st, 2nd, … failed attempt.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// DefaultMaxAttempts is how many times an event is tried before it is
// dead-lettered.
const DefaultMaxAttempts = 5

// Stats count what a consumer did since it started.
type Stats struct {
	Handled      int64  `json:"handled"`
	Emitted      int64  `json:"emitted"`
	Failed       int64  `json:"failed"`
	DeadLettered int64  `json:"dead_lettered"`
	LastError    string `json:"last_error,omitempty"`
}

// consumer runs one deployment: a durable pull consumer on the tenant's
// stream, a worker per pooled instance. Every process running the
// deployment pulls from the same durable consumer, which hands each event
// to one of them and redelivers it (to any) until it is acknowledged.
type consumer struct {
	d       Deployment
	mod     *Module
	js      jetstream.JetStream
	metrics *Metrics
	log     *slog.Logger
	backoff []time.Duration

	cancel context.CancelFunc
	done   chan struct{}

	handled, emitted, failed, dead atomic.Int64
	lastErr                        atomic.Value // string
}

// durableName is the JetStream consumer of a deployment.
func durableName(name string) string { return "wasm-" + name }

// startConsumer runs d over its tenant's stream, reached through tjs (the
// tenant account's JetStream API); js publishes the outputs and dead letters.
func startConsumer(ctx context.Context, js, tjs jetstream.JetStream, d Deployment, mod *Module, metrics *Metrics, log *slog.Logger, backoff []time.Duration) (*consumer, error) {
	filter, err := bus.TenantFilter(d.Tenant)
	if err != nil {
		return nil, err
	}
	policy := jetstream.DeliverNewPolicy
	if d.Deliver == "all" {
		policy = jetstream.DeliverAllPolicy
	}
	lim := mod.Limits()
	cons, err := ensureDurable(ctx, tjs, tenantnats.StreamName(d.Tenant), jetstream.ConsumerConfig{
		Durable:       durableName(d.Name),
		Description:   "eventrunner WASM consumer " + d.Name,
		FilterSubject: filter,
		DeliverPolicy: policy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Long enough for a whole pool's worth of slow events; the
		// consumer naks failures itself, with its backoff.
		AckWait:    2*lim.Timeout + 30*time.Second,
		MaxDeliver: -1,
		// Each process running the deployment holds up to about 3×pool
		// unacknowledged events (the pull batch and those in the
		// workers' hands): room for several processes.
		MaxAckPending: 16 * lim.Pool,
	})
	if err != nil {
		return nil, fmt.Errorf("wasm: consumer %s/%s: %w", d.Tenant, d.Name, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(2 * lim.Pool))
	if err != nil {
		return nil, fmt.Errorf("wasm: consumer %s/%s: %w", d.Tenant, d.Name, err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &consumer{d: d, mod: mod, js: js, metrics: metrics, log: log.With("tenant", d.Tenant, "consumer", d.Name),
		backoff: backoff, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, iter, lim.Pool)
	return c, nil
}

func (c *consumer) run(ctx context.Context, iter jetstream.MessagesContext, workers int) {
	defer close(c.done)
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				c.handle(ctx, m)
			}
		}()
	}
	// Drain, not Stop: the events already pulled come out of Next and are
	// nak'ed, so another process running the deployment takes them at once
	// instead of after AckWait.
	go func() { <-ctx.Done(); iter.Drain() }()
	for {
		m, err := iter.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			break
		}
		if errors.Is(err, jetstream.ErrConsumerDeleted) {
			c.log.Warn("durable consumer deleted; the consumer stops")
			continue // the iterator is closed: the next call says so
		}
		if err != nil {
			continue // heartbeats missed during a reconnect: the iterator recovers
		}
		if ctx.Err() != nil {
			_ = m.Nak()
			continue
		}
		work <- m
	}
	close(work)
	wg.Wait()
}

// handle runs the guest on one event and settles the message: ack after
// publishing the outputs, nak with backoff on failure, dead-letter after
// MaxAttempts.
func (c *consumer) handle(ctx context.Context, m jetstream.Msg) {
	start := time.Now()
	outs, err := c.mod.Handle(ctx, m.Data())
	if ctx.Err() != nil { // stopping: let it be redelivered soon
		_ = m.Nak()
		return
	}
	labels := []string{c.d.Tenant, c.d.Name}
	if c.metrics != nil {
		c.metrics.duration.WithLabelValues(labels...).Observe(time.Since(start).Seconds())
	}
	if err == nil {
		if err = c.publish(ctx, m, outs); err == nil {
			c.handled.Add(1)
			c.emitted.Add(int64(len(outs)))
			c.count("ok", len(outs))
			_ = m.Ack()
			return
		}
		// The guest was fine, the bus was not: retry, never dead-letter.
		c.log.Warn("publishing outputs failed; retrying", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	c.failed.Add(1)
	c.lastErr.Store(err.Error())
	kind := "other"
	var ge *GuestError
	if errors.As(err, &ge) {
		kind = ge.Kind
	}
	if c.metrics != nil {
		c.metrics.errors.WithLabelValues(c.d.Tenant, c.d.Name, kind).Inc()
	}
	attempts := uint64(1)
	if md, mdErr := m.Metadata(); mdErr == nil {
		attempts = md.NumDelivered
	}
	if int(attempts) < c.d.MaxAttempts {
		delay := c.backoff[min(int(attempts)-1, len(c.backoff)-1)]
		c.log.Info("guest failed; retrying", "attempt", attempts, "delay", delay, "err", err)
		c.count("retry", 0)
		_ = m.NakWithDelay(delay)
		return
	}
	c.log.Warn("guest failed; dead-lettering", "attempts", attempts, "err", err)
	dl := bus.DLQMsg(c.d.Tenant, bus.OriginOf(m), bus.Rejection{Stage: "wasm:" + c.d.Name, Kind: "wasm-" + kind,
		Reason: fmt.Sprintf("after %d attempts: %v", attempts, err)})
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, perr := c.js.PublishMsg(pctx, dl); perr != nil {
		c.log.Error("dead-lettering failed; retrying", "err", perr)
		_ = m.NakWithDelay(time.Second)
		return
	}
	c.dead.Add(1)
	c.count("dead_letter", 0)
	_ = m.Term()
}

// publish sends every output to er.out.<tenant>.<consumer>, deduplicated
// by the input's stream position so that a redelivery emits nothing twice.
func (c *consumer) publish(ctx context.Context, in jetstream.Msg, outs [][]byte) error {
	if len(outs) == 0 {
		return nil
	}
	seq := "0"
	if md, err := in.Metadata(); err == nil {
		seq = strconv.FormatUint(md.Sequence.Stream, 10)
	}
	subject := tenantnats.OutSubject(c.d.Tenant, c.d.Name)
	futures := make([]jetstream.PubAckFuture, 0, len(outs))
	for i, o := range outs {
		msg := &nats.Msg{Subject: subject, Data: o, Header: nats.Header{}}
		msg.Header.Set(bus.HeaderMsgID, c.d.Name+"/"+seq+"/"+strconv.Itoa(i))
		msg.Header.Set(bus.HeaderTenant, c.d.Tenant)
		msg.Header.Set("Er-Wasm-Source", in.Subject())
		f, err := c.js.PublishMsgAsync(msg)
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (c *consumer) count(result string, emitted int) {
	if c.metrics == nil {
		return
	}
	c.metrics.events.WithLabelValues(c.d.Tenant, c.d.Name, result).Inc()
	if emitted > 0 {
		c.metrics.emitted.WithLabelValues(c.d.Tenant, c.d.Name).Add(float64(emitted))
	}
}

func (c *consumer) stats() Stats {
	s := Stats{Handled: c.handled.Load(), Emitted: c.emitted.Load(), Failed: c.failed.Load(), DeadLettered: c.dead.Load()}
	if e, ok := c.lastErr.Load().(string); ok {
		s.LastError = e
	}
	return s
}

// stop interrupts the guests, naks what is in hand, and waits.
func (c *consumer) stop(ctx context.Context) {
	c.cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
	}
	c.mod.Close(context.Background())
}

// ensureDurable creates the durable consumer or updates it to cfg, keeping
// where it is: a durable's deliver policy only matters when it is created
// (and cannot be updated), so an existing one keeps its own, whatever the
// deployment says now. Two processes starting the deployment at once may
// both find none: one creates it, the other's create then fails (when the
// configurations differ) and it updates instead.
func ensureDurable(ctx context.Context, tjs jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	for attempt := 0; ; attempt++ {
		cons, err := tjs.Consumer(ctx, stream, cfg.Durable)
		switch {
		case err == nil:
			cur := cons.CachedInfo().Config
			cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = cur.DeliverPolicy, cur.OptStartSeq, cur.OptStartTime
			return tjs.UpdateConsumer(ctx, stream, cfg)
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return nil, err
		}
		cons, err = tjs.CreateConsumer(ctx, stream, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) && attempt == 0 {
			continue
		}
		return cons, err
	}
}
