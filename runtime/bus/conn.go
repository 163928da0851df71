package bus

import (
	"fmt"
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
	base := []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncMaxPending(DefaultAsyncMaxPending),
		jetstream.WithPublishAsyncTimeout(DefaultAsyncAckTimeout),
	}
	js, err := jetstream.New(nc, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	return js, nil
}
