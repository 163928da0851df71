package runner

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"mime"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
)

// Raw is a message of ER_RAW as the runner reads it: where it was
// published, its headers and body, and where and when ER_RAW stored it.
type Raw struct {
	Subject string
	Header  nats.Header
	Data    []byte
	Stream  string
	Seq     uint64
	Stored  time.Time
}

// Event reads the CloudEvent m carries exactly as the runner does before
// validating it (the producer's Er-* headers ignored, raw JSON wrapped with
// the id and time derived from m), so that a dead letter of the runner is
// read again as the same event (runtime/dlq). Refusals are *accept.Error.
func (r *Runner) Event(m Raw) (*cloudevents.Event, error) {
	_, subjectType, err := bus.ParseRawSubject(m.Subject)
	if err != nil {
		return nil, &accept.Error{Kind: accept.KindTenant, Field: "subject", Reason: err.Error(), Err: err}
	}
	raw := &rawMsg{subject: m.Subject, header: bus.WithoutEngineHeaders(m.Header), data: m.Data, stream: m.Stream, seq: m.Seq, stored: m.Stored}
	return r.eventOf(raw, subjectType)
}

// rawMsg is what the runner knows of a message read from ER_RAW.
type rawMsg struct {
	subject string
	header  nats.Header
	data    []byte
	stream  string
	seq     uint64
	stored  time.Time // when ER_RAW stored it
}

// eventOf reads the CloudEvent carried by m: structured when the content
// type says so, binary when a ce-specversion header is present, otherwise
// structured if the body is a JSON object with a "specversion" member, and
// else raw JSON to wrap.
func (r *Runner) eventOf(m *rawMsg, subjectType string) (*cloudevents.Event, error) {
	ev := &cloudevents.Event{}
	ct := header(m.header, bus.HeaderContentType)
	if isCloudEventsType(ct) {
		if err := cloudevents.Parse(m.data, ev); err != nil {
			return nil, accept.ParseRefusal(err)
		}
		return ev, nil
	}
	if header(m.header, "ce-specversion") != "" {
		return binaryEvent(m, ct)
	}
	err := cloudevents.Parse(m.data, ev)
	var syn *cloudevents.SyntaxError
	if errors.As(err, &syn) {
		if isObjectStart(m.data) {
			return nil, &accept.Error{Kind: accept.KindMalformed, Field: "body", Reason: syn.Error(), Err: err}
		}
		// Not an object: raw JSON data, or not JSON at all.
		if cloudevents.CheckJSON(m.data) != nil {
			return nil, &accept.Error{Kind: accept.KindMalformed, Field: "body", Reason: "not valid JSON", Err: err}
		}
		return r.wrapRaw(m, subjectType)
	}
	var ae *cloudevents.AttributeError
	if ev.SpecVersion != "" || errors.As(err, &ae) && ae.Attribute == "specversion" {
		if err != nil {
			return nil, accept.ParseRefusal(err)
		}
		return ev, nil
	}
	return r.wrapRaw(m, subjectType)
}

func isObjectStart(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

func isCloudEventsType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == bus.ContentTypeCloudEvents
}

// binaryEvent reads the NATS binding's binary mode
// (cloudevents.FromNATSBinary); data that is not JSON is malformed, an
// attribute given twice a bad attribute.
func binaryEvent(m *rawMsg, contentType string) (*cloudevents.Event, error) {
	ev, err := cloudevents.FromNATSBinary(m.header, contentType, m.data)
	var be *cloudevents.BindingError
	switch {
	case err == nil:
		return ev, nil
	case errors.As(err, &be) && be.Header == "body":
		return nil, &accept.Error{Kind: accept.KindMalformed, Field: "data", Reason: be.Reason, Err: err}
	case errors.As(err, &be):
		return nil, &accept.Error{Kind: accept.KindAttribute, Field: strings.TrimPrefix(be.Header, "ce-"), Reason: be.Reason, Err: err}
	}
	return nil, accept.AttributeRefusal(err)
}

// wrapRaw makes a CloudEvent of plain JSON. Everything it generates is
// derived from the message itself, so a redelivery yields the same event
// (and the same Nats-Msg-Id downstream): the id is the producer's
// Nats-Msg-Id or a UUIDv7 made of the stream's timestamp and sequence, the
// time is when ER_RAW stored the message.
func (r *Runner) wrapRaw(m *rawMsg, subjectType string) (*cloudevents.Event, error) {
	typ := header(m.header, bus.HeaderCEType)
	if typ == "" && r.opts.TypeHeader != "" {
		typ = header(m.header, r.opts.TypeHeader)
	}
	if typ == "" {
		typ = subjectType
	}
	if typ == "" {
		typ = r.opts.DefaultType
	}
	if typ == "" {
		return nil, &accept.Error{Kind: accept.KindAttribute, Field: "type", Reason: "required: raw JSON on " + m.subject +
			" needs a type: set the ce-type header, publish on er.raw.<tenant>.<type>, or configure a default type"}
	}
	id := header(m.header, bus.HeaderMsgID)
	if id == "" {
		id = rawID(m.stored, m.stream, m.seq)
	}
	return cloudevents.WrapJSON(id, "nats:"+m.subject, typ, m.stored, header(m.header, "ce-dataschema"), m.data), nil
}

// rawID is a UUIDv7 (RFC 9562) whose time is t and whose random bits are a
// hash of the stream position, so that it is the same on every delivery.
func rawID(t time.Time, stream string, seq uint64) string {
	h := sha256.New()
	h.Write([]byte(stream))
	_ = binary.Write(h, binary.BigEndian, seq)
	var entropy [10]byte
	copy(entropy[:], h.Sum(nil))
	return cloudevents.IDFrom(t, entropy)
}

// header returns the first value of header key, matched exactly first and
// then case-insensitively (NATS headers are case-sensitive, producers are
// not consistent).
func header(h nats.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, key) {
			return vs[0]
		}
	}
	return ""
}
