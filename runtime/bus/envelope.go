package bus

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// An envelope is one ER_PROC message carrying several validated events of
// one tenant, so that a batch costs one JetStream write and one delivery on
// its way to the engine instead of one per event. Its body is a sequence of
// entries, each
//
//	uvarint len(schema ID) | schema ID | uvarint len(event) | structured CloudEvent
//
// and its headers are those of a single event's message (Er-Tenant,
// Er-Ingest-Time) with Content-Type ContentTypeEnvelope, HeaderEnvelopeCount
// and a Nats-Msg-Id derived from the events' identities (EnvelopeMsgID).
// Per-event idempotency lives downstream: the store upserts by tenant +
// source + id and the tenant-stream publishes carry the event's own
// Nats-Msg-Id, so an envelope handled twice, or an event that arrives in
// two envelopes (a producer's retry), is stored and published once.
const (
	// ContentTypeEnvelope marks an envelope.
	ContentTypeEnvelope = "application/vnd.eventrunner.envelope"
	// HeaderEnvelopeCount is the number of events in an envelope, for
	// people reading the stream; the reader does not trust it.
	HeaderEnvelopeCount = "Er-Envelope-Count"
	// HeaderDLQPart is the 1-based position of a dead-lettered event in
	// the envelope it came in.
	HeaderDLQPart = "Er-Dlq-Part"
)

// EnvelopeSubject is er.proc.<tenant>, where envelopes go: a subject no
// single event uses (those are er.proc.<tenant>.<type>).
func EnvelopeSubject(tenant string) (string, error) {
	if err := CheckTenant(tenant); err != nil {
		return "", err
	}
	return procPrefix + tenant, nil
}

// ParseEnvelopeSubject returns the tenant of er.proc.<tenant>.
func ParseEnvelopeSubject(subject string) (string, error) {
	tenant, ok := strings.CutPrefix(subject, procPrefix)
	if !ok {
		return "", fmt.Errorf("subject %q is not under %s>", subject, procPrefix)
	}
	return tenant, CheckTenant(tenant)
}

// IsEnvelope reports whether h is the header of an envelope.
func IsEnvelope(h nats.Header) bool {
	return len(h[HeaderContentType]) > 0 && h[HeaderContentType][0] == ContentTypeEnvelope
}

// AppendEnvelopeEntry appends one event, validated against schemaID, to an
// envelope body.
func AppendEnvelopeEntry(dst []byte, schemaID string, event []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(schemaID)))
	dst = append(dst, schemaID...)
	dst = binary.AppendUvarint(dst, uint64(len(event)))
	return append(dst, event...)
}

// EnvelopeEntrySize is the number of bytes AppendEnvelopeEntry adds.
func EnvelopeEntrySize(schemaID string, event []byte) int {
	return uvarintLen(len(schemaID)) + len(schemaID) + uvarintLen(len(event)) + len(event)
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

// ErrBadEnvelope is returned for a body that is not a sequence of entries.
var ErrBadEnvelope = errors.New("bus: malformed envelope")

// EachEnvelopeEntry calls fn for every entry of an envelope body in order,
// with part counting from 1. The slices alias body. It stops at fn's first
// error and returns it; a truncated or malformed body gives ErrBadEnvelope
// after the entries before the damage were handed over.
func EachEnvelopeEntry(body []byte, fn func(part int, schemaID string, event []byte) error) error {
	for part := 1; len(body) > 0; part++ {
		schema, rest, err := envelopeField(body)
		if err != nil {
			return fmt.Errorf("%w: entry %d: schema ID: %v", ErrBadEnvelope, part, err)
		}
		event, rest, err := envelopeField(rest)
		if err != nil {
			return fmt.Errorf("%w: entry %d: event: %v", ErrBadEnvelope, part, err)
		}
		if len(event) == 0 {
			return fmt.Errorf("%w: entry %d: empty event", ErrBadEnvelope, part)
		}
		if err := fn(part, string(schema), event); err != nil {
			return err
		}
		body = rest
	}
	return nil
}

// EachEvent calls fn for every event an ER_PROC message carries: each
// part of an envelope, or the message itself (part 0, schema from its
// Er-Schema header).
func EachEvent(h nats.Header, data []byte, fn func(part int, schemaID string, event []byte) error) error {
	if IsEnvelope(h) {
		return EachEnvelopeEntry(data, fn)
	}
	return fn(0, h.Get(HeaderSchema), data)
}

func envelopeField(b []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	switch {
	case k <= 0:
		return nil, nil, errors.New("bad length")
	case n > uint64(len(b)-k):
		return nil, nil, fmt.Errorf("length %d past the end (%d bytes left)", n, len(b)-k)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// EnvelopeMsgID is the Nats-Msg-Id of an envelope holding the events with
// these message ids (MsgID), in order: a producer resending the same batch
// is deduplicated by the stream as a whole.
func EnvelopeMsgID(msgIDs []string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, id := range msgIDs {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(id)))])
		h.Write([]byte(id))
	}
	return "env/" + strconv.Itoa(len(msgIDs)) + "/" + hex.EncodeToString(h.Sum(nil)[:16])
}
