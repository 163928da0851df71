package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect opens a client connection to url with the settings every
// eventrunner component wants: a name, endless reconnects (a restarting
// server must not kill the engine) and a large reconnect buffer. opts are
// applied after these and may override them.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.Name("eventrunner"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", url, err)
	}
	return nc, nil
}

// Default async publish settings of NewJetStream.
const (
	// DefaultAsyncMaxPending bounds the async publishes awaiting a PubAck
	// on one connection; a publisher past it stalls (see Publisher).
	DefaultAsyncMaxPending = 8192
	// DefaultAsyncAckTimeout fails an async publish whose PubAck never
	// came, so that a batch waiting on it cannot hang.
	DefaultAsyncAckTimeout = 10 * time.Second
)

// NewJetStream returns the JetStream API over nc with bounded async
// publishing: at most DefaultAsyncMaxPending outstanding PubAcks, each
// failing after DefaultAsyncAckTimeout.
func NewJetStream(nc *nats.Conn, opts ...jetstream.JetStreamOpt) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc, append(jetStreamDefaults(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	return js, nil
}

// NewJetStreamWithPrefix is NewJetStream for a JetStream API reached under
// prefix instead of $JS.API (another account's, through an import).
func NewJetStreamWithPrefix(nc *nats.Conn, prefix string, opts ...jetstream.JetStreamOpt) (jetstream.JetStream, error) {
	js, err := jetstream.NewWithAPIPrefix(nc, prefix, append(jetStreamDefaults(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream %s: %w", prefix, err)
	}
	return js, nil
}

func jetStreamDefaults() []jetstream.JetStreamOpt {
	return []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncMaxPending(DefaultAsyncMaxPending),
		jetstream.WithPublishAsyncTimeout(DefaultAsyncAckTimeout),
	}
}

// RetrySettling runs op until it succeeds, fails for a reason other than a
// cluster settling, or ctx ends. Each attempt gets its own context of at
// most SettlingAttempt. On a cluster a brand-new account or stream takes a
// moment to be served everywhere (no responders); an election leaves
// JetStream briefly unavailable; and two processes creating the same
// stream at once on a new cluster can both wait in vain for the answer
// (seen with two serve processes started together): the next attempt finds
// the stream and updates it.
func RetrySettling(ctx context.Context, op func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, SettlingAttempt)
		err := op(actx)
		cancel()
		if err == nil || !settling(err) || ctx.Err() != nil {
			return explainMoveAndScale(err)
		}
		select {
		case <-ctx.Done():
			return explainMoveAndScale(err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// jsErrCodeMoveAndScale is the server's "can not move and scale a stream in
// a single update" (JSStreamMoveAndScaleErr).
const jsErrCodeMoveAndScale jetstream.ErrorCode = 10123

// explainMoveAndScale says what to do when JetStream refuses a changed
// --nats-replicas together with changed --nats-placement-tags: it moves a
// stream (new placement) and scales it (new replicas) only in separate
// updates, each converging before the next may start, which a process
// should not wait out at start-up. Every stream, KV bucket and object
// store eventrunner ensures goes through RetrySettling, hence here.
func explainMoveAndScale(err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) && api.ErrorCode == jsErrCodeMoveAndScale {
		return fmt.Errorf("%w: JetStream changes replicas and placement only one at a time: start once with the new --nats-replicas and the current --nats-placement-tags, then with the new tags", err)
	}
	return err
}

// SettlingAttempt bounds one attempt of RetrySettling.
const SettlingAttempt = 5 * time.Second

// settling reports whether err is one a settling cluster gives, that a
// later attempt may not.
func settling(err error) bool {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case 10008, // JetStream system temporarily unavailable (an election)
			10124,                              // stream move already in progress: a changed placement still converging
			10226,                              // stream reconfiguration already in progress: a changed replica count still converging
			jetstream.JSErrCodeStreamNameInUse, // created meanwhile with another configuration: update it
			10049,                              // error creating store for stream: seen on a new, busy cluster (a peer's store not ready yet)
			jetstream.JSErrCodeJetStreamNotEnabledForAccount: // the account's JWT is still on its way
			return true
		case 10005: // no suitable peers: transient while a peer is still (re)joining
			return strings.Contains(api.Description, "peer offline")
		}
	}
	return false
}
