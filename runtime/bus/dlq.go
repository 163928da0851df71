package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Rejection says why a message is dead-lettered.
type Rejection struct {
	Stage  string // "runner", "ingest", "engine"
	Kind   string // a short class, e.g. "invalid-data", "rule-error"
	Field  string // the offending attribute or JSON path, if any
	Reason string // human-readable, every problem listed
}

// Origin locates the message being dead-lettered.
type Origin struct {
	Subject    string
	Header     nats.Header
	Data       []byte
	Stream     string
	Seq        uint64 // stream sequence; 0 when unknown
	Deliveries uint64
	// Part is the 1-based position of the event in its envelope; 0 when
	// the message is a single event.
	Part int
}

// EnvelopePart describes the event at part of the envelope o as a message
// of its own: its body, and the envelope's headers as a single event's
// (a structured CloudEvent validated against schemaID).
func EnvelopePart(o Origin, part int, schemaID string, event []byte) Origin {
	h := make(nats.Header, len(o.Header))
	for k, v := range o.Header {
		if k != HeaderEnvelopeCount && k != HeaderContentType && k != HeaderSchema {
			h[k] = v
		}
	}
	h[HeaderContentType] = []string{ContentTypeCloudEvents}
	if schemaID != "" {
		h[HeaderSchema] = []string{schemaID}
	}
	o.Header, o.Data, o.Part = h, event, part
	return o
}

// OriginOf describes a message received from a consumer.
func OriginOf(m jetstream.Msg) Origin {
	o := Origin{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()}
	if md, err := m.Metadata(); err == nil {
		o.Stream, o.Seq, o.Deliveries = md.Stream, md.Sequence.Stream, md.NumDelivered
	}
	return o
}

// DLQMsg builds the dead letter of o: published on er.dlq.<tenant> with the
// original body and headers (but the Nats-* ones; the original's Nats-Msg-Id
// is kept as Er-Dlq-Msg-Id) plus the Er-Dlq-* headers, and a Nats-Msg-Id
// derived from the original's stream position so that dead-lettering the
// same message twice (a redelivery, two processes) keeps one copy.
func DLQMsg(tenant string, o Origin, r Rejection) *nats.Msg {
	m := &nats.Msg{Subject: DLQSubject(tenant), Data: o.Data, Header: make(nats.Header, len(o.Header)+10)}
	for k, v := range o.Header {
		// Nats-* headers are instructions to the server (dedup id, expected
		// sequence, TTL, rollup) meant for the original publish.
		if len(k) >= 5 && strings.EqualFold(k[:5], "nats-") {
			continue
		}
		m.Header[k] = append([]string(nil), v...)
	}
	if id := o.Header.Get(HeaderMsgID); id != "" {
		m.Header.Set(HeaderDLQMsgID, HeaderValue(id))
	}
	part := ""
	if o.Part > 0 {
		part = "/" + strconv.Itoa(o.Part)
		m.Header.Set(HeaderDLQPart, strconv.Itoa(o.Part))
	}
	if o.Seq > 0 {
		m.Header.Set(HeaderMsgID, "dlq/"+o.Stream+"/"+strconv.FormatUint(o.Seq, 10)+part)
		m.Header.Set(HeaderDLQStream, o.Stream)
		m.Header.Set(HeaderDLQSeq, strconv.FormatUint(o.Seq, 10))
	} else if id := o.Header.Get(HeaderMsgID); id != "" {
		m.Header.Set(HeaderMsgID, "dlq/"+r.Stage+"/"+id+part)
	}
	if o.Deliveries > 0 {
		m.Header.Set(HeaderDLQDeliveries, strconv.FormatUint(o.Deliveries, 10))
	}
	m.Header.Set(HeaderTenant, HeaderValue(tenant))
	m.Header.Set(HeaderDLQStage, r.Stage)
	m.Header.Set(HeaderDLQKind, r.Kind)
	if r.Field != "" {
		m.Header.Set(HeaderDLQField, HeaderValue(r.Field))
	}
	m.Header.Set(HeaderDLQReason, HeaderValue(r.Reason))
	m.Header.Set(HeaderDLQSubject, HeaderValue(o.Subject))
	return m
}

// TenantOfSubject returns the tenant token of er.<kind>.<tenant>... (the
// third token), or "" when there is none.
func TenantOfSubject(subject string) string {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) < 3 || parts[0] != "er" {
		return ""
	}
	return parts[2]
}

// KindMaxDeliver is the Rejection kind of a message the consumer gave up on.
const KindMaxDeliver = "max-deliver"

// maxDeliverAdvisory is the server's io.nats.jetstream.advisory.v1.max_deliver.
type maxDeliverAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// DeadLetterMaxDeliveries dead-letters the messages a consumer gives up on:
// it listens for the server's max-deliveries advisory of stream/consumer,
// copies the message to the DLQ (a message that crashed or stalled its
// handler MaxDeliver times never reaches the handler's own DLQ path) and,
// when remove is set (work-queue streams), deletes the original so it
// cannot block the queue. Advisories are core NATS messages: one emitted
// while no process listens is not seen. Call the returned stop function to
// unsubscribe.
//
// An advisory is acted on only once checked against the server's own
// state, because anything that can publish in the account could forge one
// (see verifyAdvisory); tenants live in accounts of their own and cannot
// reach the engine's subjects at all, and this keeps a forgery harmless
// even if that ever failed.
func DeadLetterMaxDeliveries(js jetstream.JetStream, pub *Publisher, stream, consumer, stage string, remove bool, onError func(error)) (stop func(), err error) {
	subject := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer
	sub, err := js.Conn().Subscribe(subject, func(am *nats.Msg) {
		var adv maxDeliverAdvisory
		if err := json.Unmarshal(am.Data, &adv); err != nil {
			report(onError, fmt.Errorf("bus: max-deliveries advisory: %w", err))
			return
		}
		if am.Reply != "" || adv.Stream != stream || adv.Consumer != consumer {
			// The server's advisories have no reply subject (a push
			// consumer's deliveries do) and name the subject's consumer.
			report(onError, fmt.Errorf("bus: ignored a forged max-deliveries advisory for %s/%s on %s", adv.Stream, adv.Consumer, subject))
			return
		}
		// Not on the connection's reader goroutine: it must stay free to
		// deliver the PubAck being waited for.
		go func() {
			if err := deadLetter(js, pub, adv, stage, remove); err != nil {
				report(onError, err)
			}
		}()
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// errForgedAdvisory marks an advisory the server's state contradicts.
var errForgedAdvisory = errors.New("forged max-deliveries advisory")

// verifyAdvisory checks an advisory against the consumer it names: the
// message was delivered (its sequence is at most the consumer's last
// delivered one), is still unacknowledged (above the ack floor), and the
// advisory claims at least the consumer's MaxDeliver deliveries.
func verifyAdvisory(ctx context.Context, s jetstream.Stream, adv maxDeliverAdvisory) error {
	c, err := s.Consumer(ctx, adv.Consumer)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	md := info.Config.MaxDeliver
	if adv.StreamSeq <= info.AckFloor.Stream || adv.StreamSeq > info.Delivered.Stream || md <= 0 || adv.Deliveries < uint64(md) {
		return fmt.Errorf("%w: %s/%s seq %d (ack floor %d, delivered %d, %d of %d deliveries)", errForgedAdvisory,
			adv.Stream, adv.Consumer, adv.StreamSeq, info.AckFloor.Stream, info.Delivered.Stream, adv.Deliveries, md)
	}
	return nil
}

func deadLetter(js jetstream.JetStream, pub *Publisher, adv maxDeliverAdvisory, stage string, remove bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, adv.Stream)
	if err != nil {
		return fmt.Errorf("bus: dead-letter %s/%d: %w", adv.Stream, adv.StreamSeq, err)
	}
	if err := verifyAdvisory(ctx, s, adv); err != nil {
		return fmt.Errorf("bus: dead-letter %s/%d: %w", adv.Stream, adv.StreamSeq, err)
	}
	raw, err := s.GetMsg(ctx, adv.StreamSeq)
	if isNotFound(err) {
		return nil // settled or removed meanwhile
	}
	if err != nil {
		return fmt.Errorf("bus: dead-letter %s/%d: %w", adv.Stream, adv.StreamSeq, err)
	}
	o := Origin{Subject: raw.Subject, Header: raw.Header, Data: raw.Data, Stream: adv.Stream, Seq: adv.StreamSeq, Deliveries: adv.Deliveries}
	reason := fmt.Sprintf("consumer %s delivered the message %d times and it was never settled (the handler crashed, stalled or kept failing)", adv.Consumer, adv.Deliveries)
	r := Rejection{Stage: stage, Kind: KindMaxDeliver, Reason: reason}
	msgs := deadLetters(o, r)
	if err := pub.PublishBatch(ctx, msgs, make([]error, len(msgs))); err != nil {
		return fmt.Errorf("bus: dead-letter %s/%d: %w", adv.Stream, adv.StreamSeq, err)
	}
	if remove {
		if err := s.DeleteMsg(ctx, adv.StreamSeq); err != nil && !isNotFound(err) {
			return fmt.Errorf("bus: dead-letter %s/%d: delete original: %w", adv.Stream, adv.StreamSeq, err)
		}
	}
	return nil
}

// deadLetters is the dead letter of o, or one per event when o is an
// envelope (a malformed envelope is kept whole).
func deadLetters(o Origin, r Rejection) []*nats.Msg {
	tenant := TenantOfSubject(o.Subject)
	if !IsEnvelope(o.Header) {
		return []*nats.Msg{DLQMsg(tenant, o, r)}
	}
	var out []*nats.Msg
	err := EachEnvelopeEntry(o.Data, func(part int, schemaID string, event []byte) error {
		out = append(out, DLQMsg(tenant, EnvelopePart(o, part, schemaID, event), r))
		return nil
	})
	if err != nil {
		return []*nats.Msg{DLQMsg(tenant, o, Rejection{Stage: r.Stage, Kind: r.Kind, Field: "body", Reason: r.Reason + "; " + err.Error()})}
	}
	return out
}

func isNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrMsgNotFound)
}
