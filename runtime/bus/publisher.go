package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublisherOptions tunes a Publisher. The zero value gives the defaults.
type PublisherOptions struct {
	// StallWait is how long one async publish may wait for room when
	// DefaultAsyncMaxPending PubAcks are outstanding before it is retried;
	// default 1 s (the client's own default of 200 ms fails too eagerly on
	// slow disks).
	StallWait time.Duration
	// Attempts is how often a message whose PubAck failed (timeout, no
	// responders, disconnect) is published again before its error is
	// reported; default 3. Resending is safe: messages carry a Nats-Msg-Id.
	Attempts int
	// RetryWait is the pause before a resend; default 100 ms.
	RetryWait time.Duration
}

// Publisher publishes to JetStream and waits for the PubAcks: one at a time
// (Publish) or a batch at once (PublishBatch) so that N messages cost one
// round of acks, not N. It is safe for concurrent use; every batch waits for
// its own acks only.
type Publisher struct {
	js   jetstream.JetStream
	opts PublisherOptions
}

// NewPublisher returns a Publisher over js (see NewJetStream).
func NewPublisher(js jetstream.JetStream, opts PublisherOptions) *Publisher {
	if opts.StallWait <= 0 {
		opts.StallWait = time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 100 * time.Millisecond
	}
	return &Publisher{js: js, opts: opts}
}

// JetStream returns the JetStream API the publisher uses.
func (p *Publisher) JetStream() jetstream.JetStream { return p.js }

// Publish publishes m and waits for its PubAck. A message the stream
// dropped as a duplicate is a success (ack.Duplicate is true).
func (p *Publisher) Publish(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	ack, err := p.js.PublishMsg(ctx, m, jetstream.WithRetryAttempts(p.opts.Attempts), jetstream.WithRetryWait(p.opts.RetryWait))
	if err != nil {
		return nil, fmt.Errorf("bus: publish %s: %w", m.Subject, err)
	}
	return ack, nil
}

// PublishBatch publishes every message asynchronously, then waits for all
// their PubAcks. errs must have len(msgs) entries; errs[i] is set to the
// outcome of msgs[i] (nil when stored). Messages whose ack failed are sent
// again up to Attempts times. It returns the first error, or nil when every
// message was stored. Cancelling ctx abandons the wait: the messages not yet
// acknowledged report ctx's error (they may still be stored).
func (p *Publisher) PublishBatch(ctx context.Context, msgs []*nats.Msg, errs []error) error {
	if len(errs) != len(msgs) {
		return fmt.Errorf("bus: publish batch: %d messages, %d error slots", len(msgs), len(errs))
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	pending := make([]int, len(msgs))
	for i := range msgs {
		pending[i] = i
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, p.opts.RetryWait); err != nil {
				break
			}
		}
		for _, i := range pending {
			futures[i], errs[i] = p.publishAsync(ctx, msgs[i])
		}
		pending = p.await(ctx, futures, errs, pending, attempt < p.opts.Attempts)
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("bus: publish %s: %w", msgs[i].Subject, err)
		}
	}
	return nil
}

// publishAsync sends one message, waiting for room while too many PubAcks
// are outstanding (the stall), until ctx ends.
func (p *Publisher) publishAsync(ctx context.Context, m *nats.Msg) (jetstream.PubAckFuture, error) {
	for {
		f, err := p.js.PublishMsgAsync(m, jetstream.WithStallWait(p.opts.StallWait))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return f, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// await collects the outcome of the futures listed in idx and returns the
// indexes worth resending when retry is true.
func (p *Publisher) await(ctx context.Context, futures []jetstream.PubAckFuture, errs []error, idx []int, retry bool) []int {
	var again []int
	for _, i := range idx {
		f := futures[i]
		if f == nil { // the publish itself failed: errs[i] is set
			if retry && retryable(errs[i]) {
				again = append(again, i)
			}
			continue
		}
		select {
		case <-f.Ok():
			errs[i] = nil
		case err := <-f.Err():
			errs[i] = err
			if retry && retryable(err) {
				again = append(again, i)
			}
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	return again
}

// retryable reports whether resending may succeed: lost or late acks and
// connection trouble, not a refusal by the stream (e.g. wrong subject).
func retryable(err error) bool {
	return errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrConnectionReconnecting)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
