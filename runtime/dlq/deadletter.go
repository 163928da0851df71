package dlq

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
)

// DeadLetter is one dead letter of ER_DLQ as the API shows it.
type DeadLetter struct {
	// Seq is the dead letter's ER_DLQ stream sequence: its id.
	Seq uint64 `json:"seq"`
	// Time is when it was dead-lettered (stored in ER_DLQ).
	Time   time.Time `json:"time"`
	Stage  string    `json:"stage"`
	Kind   string    `json:"kind"`
	Field  string    `json:"field"`
	Reason string    `json:"reason"`
	// Event holds the event's attributes, as far as they could be read.
	Event       EventInfo `json:"event"`
	ContentType string    `json:"content_type"`
	// Data is the original body when it is JSON, else DataBase64 is.
	Data       json.RawMessage `json:"data,omitempty"`
	DataBase64 []byte          `json:"data_base64,omitempty"`
	// Redriven is the outcome of the last redrive; nil when never redriven.
	Redriven *Marker `json:"redriven"`
	// RedriveOf is the dead letter whose rejected redrive produced this one.
	RedriveOf uint64 `json:"redrive_of,omitempty"`

	msg *jetstream.RawStreamMsg
}

// EventInfo is what is known of a dead letter's event.
type EventInfo struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	Type       string `json:"type"`
	Subject    string `json:"subject"`
	DataSchema string `json:"dataschema"`
}

// Marker records the last redrive of a dead letter.
type Marker struct {
	At time.Time `json:"at"`
	// Outcome is OutcomeAccepted or OutcomeRejected.
	Outcome string `json:"outcome"`
	Kind    string `json:"kind"`
	Reason  string `json:"reason"`
	// Count is how often it was redriven.
	Count int `json:"count"`
	// DeadLetter is the dead letter a rejected redrive produced.
	DeadLetter uint64 `json:"dead_letter,omitempty"`
}

// The outcomes of a redrive.
const (
	// OutcomeAccepted: the event passed validation and is on ER_PROC; the
	// engine runs the current rules on it (and dead-letters it anew if
	// they fail).
	OutcomeAccepted = "accepted"
	// OutcomeRejected: the event is still refused; a new dead letter says
	// why.
	OutcomeRejected = "rejected"
)

// newDeadLetter describes m, a message of ER_DLQ, with what can be read of
// its event without validating it (ev, when the caller decoded it).
func newDeadLetter(m *jetstream.RawStreamMsg, ev *cloudevents.Event) *DeadLetter {
	h := m.Header
	dl := &DeadLetter{
		Seq: m.Sequence, Time: m.Time.UTC(), msg: m,
		Stage: h.Get(bus.HeaderDLQStage), Kind: h.Get(bus.HeaderDLQKind),
		Field: h.Get(bus.HeaderDLQField), Reason: h.Get(bus.HeaderDLQReason),
		ContentType: h.Get(bus.HeaderContentType),
	}
	dl.RedriveOf, _ = strconv.ParseUint(h.Get(bus.HeaderDLQRedriveOf), 10, 64)
	if json.Valid(m.Data) {
		dl.Data = json.RawMessage(m.Data)
	} else {
		dl.DataBase64 = m.Data
	}
	if ev != nil {
		dl.Event = EventInfo{ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject, DataSchema: ev.DataSchema}
	} else {
		dl.Event = looseInfo(h, m.Data)
	}
	return dl
}

// looseInfo reads the attributes of an event that does not decode: the
// string members of a JSON object, else the binary-mode ce-* headers.
func looseInfo(h nats.Header, body []byte) EventInfo {
	var obj map[string]json.RawMessage
	str := func(k string) string {
		var s string
		if raw, ok := obj[k]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
		return h.Get(bus.HeaderCEPrefix + k)
	}
	_ = json.Unmarshal(body, &obj)
	return EventInfo{ID: str("id"), Source: str("source"), Type: str("type"), Subject: str("subject"), DataSchema: str("dataschema")}
}

// origin is where a dead letter's original message came from, read from
// its Er-Dlq-* headers.
type origin struct {
	subject string
	stream  string
	seq     uint64
	part    int
}

func originOf(h nats.Header) origin {
	o := origin{subject: h.Get(bus.HeaderDLQSubject), stream: h.Get(bus.HeaderDLQStream)}
	o.seq, _ = strconv.ParseUint(h.Get(bus.HeaderDLQSeq), 10, 64)
	o.part, _ = strconv.Atoi(h.Get(bus.HeaderDLQPart))
	return o
}

// raw reports whether the original came in on er.raw (the runner read it).
func (o origin) raw() bool { return strings.HasPrefix(o.subject, "er.raw.") }
