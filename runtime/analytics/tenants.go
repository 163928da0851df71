package analytics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// ErrStopped is returned by Add once Run has returned.
var ErrStopped = errors.New("analytics: feeder stopped")

// puller pulls one tenant's processed events from the durable consumer on
// its stream and hands them to the feeder's batcher, labelled with the
// tenant the consumer belongs to.
type puller struct {
	id     string
	prefix string // er.t.<tenant>. : the subjects of the tenant's events
	stream string // ER_T_<tenant>
	lag    *bus.LagCollector

	iter jetstream.MessagesContext // replaced when the consumer is recreated; guarded by Feeder.mu
	stop chan struct{}             // closed by Remove: discard, do not drain
	done chan struct{}             // closed when run returns
}

// item is a message and the puller of the tenant whose consumer
// delivered it.
type item struct {
	from *puller
	msg  jetstream.Msg
}

// Add starts feeding tenant id's stream: it creates the durable consumer
// (or finds it, when another process or an earlier start made it) and
// starts pulling. A new consumer starts with the oldest event the stream
// holds, so a tenant's history is backfilled. Adding a tenant being fed is
// a no-op.
func (f *Feeder) Add(ctx context.Context, id string) error {
	f.mu.Lock()
	closed, running := f.closed, f.pullers[id] != nil
	f.mu.Unlock()
	switch {
	case closed:
		return ErrStopped
	case running:
		return nil
	}
	cons, iter, err := f.consume(ctx, id)
	if err != nil {
		return err
	}
	p := &puller{id: id, prefix: "er.t." + id + ".", stream: tenantnats.StreamName(id), iter: iter,
		stop: make(chan struct{}), done: make(chan struct{})}
	if f.opts.Metrics != nil {
		p.lag = bus.NewLagCollector(p.stream, cons)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.pullers[id] != nil { // lost a race with Run's end or another Add
		iter.Stop()
		if f.closed {
			return ErrStopped
		}
		return nil
	}
	if p.lag != nil {
		if err := f.opts.Metrics.Register(p.lag); err != nil {
			iter.Stop()
			return fmt.Errorf("analytics: tenant %s: register lag metrics: %w", id, err)
		}
	}
	f.pullers[id] = p
	f.wg.Add(1)
	go f.pull(p)
	return nil
}

// Remove stops feeding tenant id, before its stream is deleted (which
// deletes the consumer with it). Events of the tenant already in a batch
// are still inserted.
func (f *Feeder) Remove(id string) {
	f.mu.Lock()
	p := f.pullers[id]
	delete(f.pullers, id)
	if p != nil {
		close(p.stop)
		p.iter.Stop()
		if p.lag != nil {
			f.opts.Metrics.Unregister(p.lag)
		}
	}
	f.mu.Unlock()
	if p != nil {
		<-p.done
	}
}

// Sync feeds exactly the tenants ids: it adds the missing ones and removes
// the others. It tries every tenant and reports every failure.
func (f *Feeder) Sync(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		errs = append(errs, f.Add(ctx, id))
	}
	for _, id := range f.Tenants() {
		if !slices.Contains(ids, id) {
			f.Remove(id)
		}
	}
	return errors.Join(errs...)
}

// Tenants lists the tenants being fed, sorted.
func (f *Feeder) Tenants() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.pullers))
	for id := range f.pullers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// consume creates or updates the tenant's durable consumer and starts
// pulling from it. The consumer takes the stream's replicas (none are set
// here), and every process feeding the same ClickHouse shares it, so each
// event goes to one of them.
func (f *Feeder) consume(ctx context.Context, id string) (jetstream.Consumer, jetstream.MessagesContext, error) {
	filter, err := bus.TenantFilter(id)
	if err != nil {
		return nil, nil, fmt.Errorf("analytics: tenant %s: %w", id, err)
	}
	js, err := f.streams.JetStream(id)
	if err != nil {
		return nil, nil, fmt.Errorf("analytics: tenant %s: %w", id, err)
	}
	stream := tenantnats.StreamName(id)
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       f.opts.Durable,
		Description:   "eventrunner: processed events into ClickHouse",
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       f.opts.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 4 * f.opts.MaxRows,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("analytics: consumer %s on %s: %w", f.opts.Durable, stream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(f.opts.pullBatch()))
	if err != nil {
		return nil, nil, fmt.Errorf("analytics: consumer %s on %s: %w", f.opts.Durable, stream, err)
	}
	return cons, iter, nil
}

// pull forwards the tenant's messages until Remove, or until Run's end has
// drained the iterator. A consumer deleted under it (by hand, or with the
// stream by another process) is recreated with backoff until Remove.
func (f *Feeder) pull(p *puller) {
	defer f.wg.Done()
	defer close(p.done)
	f.mu.Lock()
	iter := p.iter
	f.mu.Unlock()
	backoff := time.Second
	for {
		m, err := iter.Next()
		if err == nil {
			select {
			case f.in <- item{from: p, msg: m}:
			case <-p.stop:
				return // unacked: redelivered after AckWait if the stream stays
			}
			backoff = time.Second
			continue
		}
		if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && !errors.Is(err, jetstream.ErrConsumerDeleted) && !errors.Is(err, jetstream.ErrBadRequest) {
			continue // missed heartbeats, a reconnect: the iterator recovers
		}
		if f.stopping(p) || errors.Is(err, jetstream.ErrConnectionClosed) {
			return
		}
		f.opts.Logger.Warn("analytics: tenant consumer gone; recreating it", "tenant", p.id, "err", err)
		if iter = f.reconsume(p, &backoff); iter == nil {
			return
		}
	}
}

// stopping reports whether p was removed or Run is ending.
func (f *Feeder) stopping(p *puller) bool {
	select {
	case <-p.stop:
		return true
	case <-f.quit:
		return true
	default:
		return false
	}
}

// reconsume recreates p's consumer, retrying with backoff until it
// succeeds (the new iterator) or p stops (nil).
func (f *Feeder) reconsume(p *puller, backoff *time.Duration) jetstream.MessagesContext {
	for {
		select {
		case <-p.stop:
			return nil
		case <-f.quit:
			return nil
		case <-time.After(*backoff):
		}
		*backoff = min(2**backoff, 30*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, iter, err := f.consume(ctx, p.id)
		cancel()
		if err != nil {
			f.opts.Logger.Warn("analytics: recreate tenant consumer", "tenant", p.id, "err", err)
			continue
		}
		f.mu.Lock()
		if f.closed || f.pullers[p.id] != p {
			f.mu.Unlock()
			iter.Stop()
			return nil
		}
		p.iter = iter
		f.mu.Unlock()
		return iter
	}
}

// drainAll ends every puller once the messages they hold are handed over:
// part of Run's end.
func (f *Feeder) drainAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	close(f.quit)
	for _, p := range f.pullers {
		p.iter.Drain()
	}
}
