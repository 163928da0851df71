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
	// AckTimeout is how long PublishBatch waits for a message's PubAck
	// before it counts as lost (and is resent); default
	// DefaultAsyncAckTimeout.
	AckTimeout time.Duration
	// Attempts is how often a message whose PubAck failed (timeout, no
	// responders, disconnect) is published again before its error is
	// reported; default 3. Resending is safe: messages carry a Nats-Msg-Id.
	Attempts int
	// RetryWait is the pause before a resend; default 100 ms.
	RetryWait time.Duration
	// TenantAcks puts the tenant of each message's subject into its reply
	// subject (AckPrefix): the engine's publisher sets it when tenant
	// streams live in the tenants' accounts, which send their PubAcks back
	// through a stream export of TenantAckSubjects.
	TenantAcks bool
}

// Publisher publishes to JetStream and waits for the PubAcks: one at a time
// (Publish) or a batch at once (PublishBatch) so that N messages cost one
// round of acks, not N. It is safe for concurrent use; every batch waits for
// its own acks only.
type Publisher struct {
	js   jetstream.JetStream
	opts PublisherOptions
	acks *ackInbox
}

// NewPublisher returns a Publisher over js (see NewJetStream).
func NewPublisher(js jetstream.JetStream, opts PublisherOptions) *Publisher {
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = DefaultAsyncAckTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 100 * time.Millisecond
	}
	return &Publisher{js: js, opts: opts, acks: newAckInbox(js.Conn(), opts.TenantAcks)}
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

// PublishBatch publishes every message, then waits for all their PubAcks.
// errs must have len(msgs) entries; errs[i] is set to the outcome of
// msgs[i] (nil when stored). Messages whose ack failed are sent again up to
// Attempts times. It returns the first error, or nil when every message
// was stored. Cancelling ctx abandons the wait: the messages not yet
// acknowledged report ctx's error (they may still be stored). PublishBatch
// sets each message's Reply.
func (p *Publisher) PublishBatch(ctx context.Context, msgs []*nats.Msg, errs []error) error {
	if len(errs) != len(msgs) {
		return fmt.Errorf("bus: publish batch: %d messages, %d error slots", len(msgs), len(errs))
	}
	if err := p.acks.start(); err != nil {
		return err
	}
	pending := make([]int, len(msgs))
	for i := range msgs {
		pending[i] = i
	}
	timer := time.NewTimer(p.opts.AckTimeout)
	defer timer.Stop()
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, p.opts.RetryWait); err != nil {
				break
			}
		}
		timer.Reset(p.opts.AckTimeout)
		round := p.acks.send(msgs, errs, pending)
		select {
		case <-round.done:
		case <-timer.C:
			p.acks.abandon(round, errAckTimeout)
		case <-ctx.Done():
			p.acks.abandon(round, ctx.Err())
			return fmt.Errorf("bus: publish batch: %w", ctx.Err())
		}
		if attempt == p.opts.Attempts {
			break
		}
		again := pending[:0]
		for _, i := range pending {
			if errs[i] != nil && retryable(errs[i]) {
				again = append(again, i)
			}
		}
		pending = again
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("bus: publish %s: %w", msgs[i].Subject, err)
		}
	}
	return nil
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
