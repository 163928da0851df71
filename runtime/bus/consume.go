package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BatchOptions tunes ConsumeBatches. The zero value gives the defaults.
type BatchOptions struct {
	// Batch is the size of one pull request and the largest group handed
	// to the handler; default 256.
	Batch int
	// MaxWait is the expiry of one pull request; default 500 ms. It bounds
	// how long a stop waits for the open request, not latency: messages are
	// handled as they arrive.
	MaxWait time.Duration
	// MaxBytes, when set, also bounds one pull request by size (messages
	// of varying size, such as envelopes); it must exceed the largest
	// message.
	MaxBytes int
	// OnError is told about fetch failures (the loop backs off and goes on);
	// nil ignores them.
	OnError func(error)
}

func (o BatchOptions) withDefaults() BatchOptions {
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 500 * time.Millisecond
	}
	return o
}

// BatchHandler handles a group of messages and must settle each one (Ack,
// Nak, Term) or leave it to redelivery after AckWait. msgs is reused after
// it returns. ctx is not cancelled by stopping the loop, so that a stop lets
// in-flight work finish.
type BatchHandler func(ctx context.Context, msgs []jetstream.Msg)

// ConsumeBatches pulls from c until ctx is cancelled and hands the messages
// to handle in groups: it issues pull requests of Batch messages and, while
// one is open, passes on whatever has arrived each time the handler is free,
// so that groups grow with load and a lone message waits for nobody. When
// ctx is cancelled it issues no new pull request, hands over what the open
// one still delivers (until its expiry, at most MaxWait) and returns ctx's
// error once the handler is done with them.
//
// Several loops may consume the same durable consumer concurrently.
func ConsumeBatches(ctx context.Context, c jetstream.Consumer, opts BatchOptions, handle BatchHandler) error {
	opts = opts.withDefaults()
	hctx := context.WithoutCancel(ctx)
	group := make([]jetstream.Msg, 0, opts.Batch)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		// No FetchContext: cancelling a pull request client-side drops the
		// messages the server already sent for it (they come back only
		// after AckWait). A request ends at its expiry with a status
		// message that follows every message sent for it, so letting it
		// run out loses nothing; a stop waits for it (at most MaxWait).
		fetchOpts := []jetstream.FetchOpt{jetstream.FetchMaxWait(opts.MaxWait)}
		if opts.MaxBytes > 0 {
			// Not FetchBytes: it sizes its channel for a million messages.
			fetchOpts = append(fetchOpts, jetstream.FetchMaxBytes(opts.MaxBytes))
		}
		mb, err := c.Fetch(opts.Batch, fetchOpts...)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			report(opts.OnError, err)
			_ = sleep(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		group = drainBatch(hctx, mb.Messages(), group, handle)
		if err := mb.Error(); err != nil && !quietFetchError(err) {
			report(opts.OnError, err)
			_ = sleep(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
	}
	return ctx.Err()
}

// drainBatch hands the messages of one pull request to handle: it blocks
// for the first, takes whatever else is already buffered, and repeats until
// the request is done.
func drainBatch(ctx context.Context, ch <-chan jetstream.Msg, group []jetstream.Msg, handle BatchHandler) []jetstream.Msg {
	for m := range ch {
		group = append(group[:0], m)
		open := true
	more:
		for open && len(group) < cap(group) {
			select {
			case m, ok := <-ch:
				if !ok {
					open = false
					break more
				}
				group = append(group, m)
			default:
				break more
			}
		}
		handle(ctx, group)
		clear(group) // let settled messages be collected
		if !open {
			break
		}
	}
	return group
}

// quietFetchError reports the normal ends of a pull request.
func quietFetchError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages)
}

func report(onError func(error), err error) {
	if onError != nil {
		onError(err)
	}
}
