package cloudevents

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// BindingError is a binary-mode message that the protocol binding cannot
// read as an event: Header names the header at fault ("ce-id",
// "Content-Type") or "body" for the data; Media is set when the data's
// content type is one the pipeline cannot validate (HTTP answers 415).
type BindingError struct {
	Header string
	Reason string
	Media  bool
}

func (e *BindingError) Error() string { return e.Header + ": " + e.Reason }

// FromHTTPBinary reads the HTTP binding's binary mode (3.1): attributes in
// ce-* headers, percent-decoded (3.1.3.2), the data in the body with
// Content-Type as datacontenttype, which must be JSON when there is data.
// An attribute given twice, ce-datacontenttype, a bad %-escape or data that
// is not JSON is a *BindingError; an event breaking the spec is Check's
// *AttributeError (CheckIncoming).
func FromHTTPBinary(h map[string][]string, contentType string, body []byte) (*Event, error) {
	contentType = strings.TrimSpace(contentType) // a header value's outer blanks are not part of it (RFC 9110 5.5)
	ev := &Event{DataContentType: contentType}
	for name, values := range h {
		if len(name) <= 3 || !strings.EqualFold(name[:3], "ce-") || len(values) == 0 {
			continue
		}
		lname := strings.ToLower(name)
		attr := lname[3:]
		switch {
		case len(values) > 1:
			return nil, &BindingError{Header: lname, Reason: fmt.Sprintf("the header appears %d times; an attribute has one value", len(values))}
		case attr == "datacontenttype":
			return nil, &BindingError{Header: lname, Reason: "binary mode carries the data's content type in Content-Type, never in ce-datacontenttype"}
		}
		v, err := PercentDecode(values[0])
		if err != nil {
			return nil, &BindingError{Header: lname, Reason: err.Error()}
		}
		ev.SetAttribute(attr, v)
	}
	if len(bytes.Trim(body, " \t\r\n")) > 0 {
		if !IsJSONContentType(contentType) {
			return nil, &BindingError{Header: "Content-Type", Reason: fmt.Sprintf("data must be JSON, got %q", contentType), Media: true}
		}
		if err := CheckJSON(body); err != nil {
			return nil, &BindingError{Header: "body", Reason: "data is not valid JSON: " + err.Error()}
		}
		ev.Data = body
	}
	if err := ev.CheckIncoming(); err != nil {
		return nil, err
	}
	return ev, nil
}

// FromNATSBinary reads the NATS binding's binary mode: attributes in
// ce-<name> headers (matched case-insensitively, not percent-encoded), the
// data as the message body. An attribute given twice (two values, or
// "ce-id" and "Ce-Id", distinct headers in NATS) is a *BindingError, as is
// JSON data that does not parse (found in one linear pass before any
// decoder sees it); the event is not checked here.
func FromNATSBinary(h map[string][]string, contentType string, data []byte) (*Event, error) {
	ev := &Event{DataContentType: contentType}
	if len(data) > 0 {
		if err := CheckJSON(data); err != nil && IsJSONContentType(contentType) {
			return nil, &BindingError{Header: "body", Reason: "not valid JSON: " + err.Error()}
		}
		ev.Data = data
	}
	seen := make(map[string]bool, 8)
	for k, vs := range h {
		if len(k) <= 3 || !strings.EqualFold(k[:3], "ce-") || len(vs) == 0 {
			continue
		}
		name := strings.ToLower(k[3:])
		if len(vs) > 1 || seen[name] {
			return nil, &BindingError{Header: "ce-" + name, Reason: "header ce-" + name + " is given more than once"}
		}
		seen[name] = true
		ev.SetAttribute(name, vs[0])
	}
	return ev, nil
}

// WrapJSON makes the CloudEvent that carries a plain JSON body (a raw post
// over HTTP, a raw message on NATS): data application/json, the attributes
// the binding took from the message's headers or chose itself.
func WrapJSON(id, source, typ string, tm time.Time, dataschema string, data []byte) *Event {
	return &Event{
		SpecVersion:     SpecVersion,
		ID:              id,
		Source:          source,
		Type:            typ,
		Time:            tm.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		DataSchema:      dataschema,
		Data:            data,
	}
}

// PercentDecode decodes %XX escapes as the HTTP binding requires
// (3.1.3.2); unlike URL query decoding it leaves '+' alone.
func PercentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
			return "", fmt.Errorf("bad percent-encoding at byte %d", i)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

// isHexDigit is a digit of a %XX escape.
func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
