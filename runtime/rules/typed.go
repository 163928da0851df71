package rules

import "context"

// TypedEvent is an event whose data arrived already typed, over a typed
// gRPC service generated from its schema: the CloudEvent attributes the
// producer sets, and the data as a fact. Its type and dataschema are the
// fact's schema.
type TypedEvent struct {
	ID      string
	Source  string
	Subject string
	// Time is RFC 3339, empty when the producer left it unset.
	Time string
	// Extensions are further CloudEvent attributes (string-valued).
	Extensions map[string]string
	Fact       Fact
}

// AckStatus is the outcome of one event; the numbers are those of the
// generated Ack.Status enum.
type AckStatus int32

const (
	// AckAccepted: stored durably.
	AckAccepted AckStatus = 1
	// AckRejected: the event is at fault; sending it again unchanged fails
	// again.
	AckRejected AckStatus = 2
	// AckRetry: not stored; send it again (its id makes that safe).
	AckRetry AckStatus = 3
)

// Ack acknowledges one event of a stream.
type Ack struct {
	ID, Source string
	Status     AckStatus
	// Code is the gRPC status code the event would get on its own.
	Code uint32
	// Error says why the event was not accepted; Field names the attribute
	// or data path at fault.
	Error, Field string
	Violations   []Violation
}

// TypedSink is the ingest path behind the generated typed services. The
// runtime implements it (the authenticated tenant travels in ctx); the
// generated services only convert messages to TypedEvents and acks back.
type TypedSink interface {
	// Publish stores one event durably, or returns a gRPC status error.
	Publish(ctx context.Context, ev *TypedEvent) error
	// Stream runs a bidirectional stream: recv returns the next event (and
	// io.EOF when the client is done), send acknowledges one. It returns
	// when the stream ends.
	Stream(ctx context.Context, recv func() (*TypedEvent, error), send func(*Ack) error) error
}
