package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of RFC 9457 problem details.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail, with the offending field named.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the offending attribute, header or JSON path, e.g.
	// "specversion", "ce-time" or "data.$.items[0].quantity".
	Field string `json:"field,omitempty"`
	// Errors lists every schema violation when there are several.
	Errors []FieldError `json:"errors,omitempty"`
	// EventID and EventSource name the event the problem is about, in a
	// batch, as far as they could be read.
	EventID     string `json:"eventId,omitempty"`
	EventSource string `json:"eventSource,omitempty"`
}

// FieldError is one violation.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string {
	if p.Field != "" {
		return p.Field + ": " + p.Detail
	}
	return p.Detail
}

// New returns a problem of the given status naming field.
func New(status int, field, detail string) *Problem {
	return &Problem{
		Type:   "https://eventrunner.dev/problems/" + slug(status),
		Title:  http.StatusText(status),
		Status: status,
		Field:  field,
		Detail: detail,
	}
}

func slug(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "malformed"
	case http.StatusRequestEntityTooLarge:
		return "too-large"
	case http.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case http.StatusUnprocessableEntity:
		return "invalid-event"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusTooManyRequests:
		return "rate-limited"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusMethodNotAllowed:
		return "method-not-allowed"
	case http.StatusRequestTimeout:
		return "timeout"
	case http.StatusRequestHeaderFieldsTooLarge:
		return "headers-too-large"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusNotImplemented:
		return "not-implemented"
	}
	return "internal"
}

// Write sends p as the response. A 503 (nothing stored: NATS is
// reconnecting or a stream is electing a leader) says when to retry, unless
// the caller already did.
func Write(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", ContentType)
	if p.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
