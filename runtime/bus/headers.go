package bus

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Header names of event metadata on the streams. NATS headers are case
// sensitive: always use these constants.
const (
	// HeaderMsgID deduplicates publishes within the streams' Duplicates
	// window: <tenant>/<source>/<id> (see MsgID).
	HeaderMsgID = jetstream.MsgIDHeader
	// HeaderContentType is the message's media type; structured CloudEvents
	// carry ContentTypeCloudEvents.
	HeaderContentType = "Content-Type"
	// HeaderTenant is the tenant id of the event.
	HeaderTenant = "Er-Tenant"
	// HeaderSchema is the schema ID ("<type>/v<N>") the event was validated
	// against, so that the engine decodes it without resolving again.
	HeaderSchema = "Er-Schema"
	// HeaderIngestTime is when eventrunner first accepted the event, in Unix
	// nanoseconds: the start of the ingest→stored latency.
	HeaderIngestTime = "Er-Ingest-Time"
	// HeaderCEType names the type of a raw JSON message on er.raw (the
	// CloudEvents NATS binding's binary-mode attribute header).
	HeaderCEType = "ce-type"
	// HeaderCEPrefix starts every binary-mode attribute header.
	HeaderCEPrefix = "ce-"

	// HeaderDLQStage names the component that rejected the event: "runner",
	// "ingest" or "engine".
	HeaderDLQStage = "Er-Dlq-Stage"
	// HeaderDLQKind classifies the reason (see accept.Kind).
	HeaderDLQKind = "Er-Dlq-Kind"
	// HeaderDLQField names the offending attribute or JSON path, e.g.
	// "specversion" or "data.$.items[0].qty".
	HeaderDLQField = "Er-Dlq-Field"
	// HeaderDLQReason says why, every violation joined by "; ".
	HeaderDLQReason = "Er-Dlq-Reason"
	// HeaderDLQSubject is the subject the message was read from.
	HeaderDLQSubject = "Er-Dlq-Subject"
	// HeaderDLQStream and HeaderDLQSeq locate the original message.
	HeaderDLQStream = "Er-Dlq-Stream"
	HeaderDLQSeq    = "Er-Dlq-Seq"
	// HeaderDLQDeliveries is how often the original was delivered.
	HeaderDLQDeliveries = "Er-Dlq-Deliveries"
	// HeaderDLQMsgID keeps the original's Nats-Msg-Id (a dead letter has a
	// Nats-Msg-Id of its own): the runner takes a raw JSON event's id from
	// it, so a redrive reads the event as the runner did.
	HeaderDLQMsgID = "Er-Dlq-Msg-Id"
	// HeaderDLQRedriveOf names the dead letter (its ER_DLQ sequence) whose
	// redrive was rejected again and produced this one (runtime/dlq).
	HeaderDLQRedriveOf = "Er-Dlq-Redrive-Of"
)

// HeaderEnginePrefix starts every header eventrunner sets (Er-Tenant,
// Er-Schema, Er-Ingest-Time, Er-Dlq-*): what the engine reads from them it
// trusts, so a producer's message must never carry one in.
const HeaderEnginePrefix = "Er-"

// WithoutEngineHeaders returns h without its Er-* headers, matched
// case-insensitively (NATS headers are case-sensitive, so "er-schema" and
// "ER-SCHEMA" are headers of their own that a careless reader could still
// match). It returns h itself when there is none, so the common case costs
// no allocation. Producers' messages on er.raw go through it: a forged
// Er-Schema, Er-Ingest-Time or Er-Dlq-Reason never reaches a stream.
func WithoutEngineHeaders(h nats.Header) nats.Header {
	found := false
	for k := range h {
		if isEngineHeader(k) {
			found = true
			break
		}
	}
	if !found {
		return h
	}
	out := make(nats.Header, len(h))
	for k, v := range h {
		if !isEngineHeader(k) {
			out[k] = v
		}
	}
	return out
}

func isEngineHeader(k string) bool {
	return len(k) >= len(HeaderEnginePrefix) && strings.EqualFold(k[:len(HeaderEnginePrefix)], HeaderEnginePrefix)
}

// ContentTypeCloudEvents is the media type of a structured CloudEvent.
const ContentTypeCloudEvents = "application/cloudevents+json"

// MsgID is the deduplication id of an event: <tenant>/<source>/<id>, the
// CloudEvents uniqueness key scoped by tenant.
func MsgID(tenant, source, id string) string {
	var b strings.Builder
	b.Grow(len(tenant) + len(source) + len(id) + 2)
	b.WriteString(tenant)
	b.WriteByte('/')
	b.WriteString(source)
	b.WriteByte('/')
	b.WriteString(id)
	return b.String()
}

// MaxHeaderValue bounds a header value written by eventrunner (a DLQ reason
// listing many violations); longer values are cut with a marker.
const MaxHeaderValue = 4096

// HeaderValue makes s safe as a header value: CR, LF and other control
// characters (which would break the NATS header block) become spaces, and
// it is cut at MaxHeaderValue bytes on a UTF-8 boundary.
func HeaderValue(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean && len(s) <= MaxHeaderValue {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > MaxHeaderValue {
		const marker = "…(truncated)"
		n := MaxHeaderValue - len(marker)
		for n > 0 && b[n]&0xc0 == 0x80 { // do not split a rune
			n--
		}
		b = append(b[:n:n], marker...)
	}
	return string(b)
}

// FormatTime and ParseTime encode HeaderIngestTime.
func FormatTime(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// ParseTime decodes HeaderIngestTime; ok is false when absent or malformed.
func ParseTime(s string) (t time.Time, ok bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}
