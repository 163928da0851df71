package cloudevents

import (
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"
)

// SpecVersion is the CloudEvents version eventrunner speaks.
const SpecVersion = "1.0"

// Event is a CloudEvent with its data kept as raw JSON (eventrunner's schemas
// describe JSON data).
type Event struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            string
	Subject         string
	Time            string // RFC 3339
	DataContentType string
	DataSchema      string
	TenantID        string
	// Extensions holds any other attribute, as its JSON value.
	Extensions map[string]json.RawMessage
	// Data is the event's data as JSON (nil when absent).
	Data json.RawMessage
}

// AttributeError names the attribute that breaks the spec and why.
type AttributeError struct {
	Attribute string
	Reason    string
}

func (e *AttributeError) Error() string {
	return fmt.Sprintf("attribute %q: %s", e.Attribute, e.Reason)
}

// Check verifies the spec's rules for the context attributes: required
// attributes present and non-empty, specversion 1.0, every string attribute
// a CloudEvents String (valid UTF-8, no control characters or
// noncharacters), source and dataschema URI-references, time in RFC 3339,
// extension names lower-case alphanumeric, extension values scalars. A
// problem is an *AttributeError naming the attribute; with several, the
// first in this order (extensions by name) is reported. Processed events,
// with eventrunner's extensions, pass it.
func (e *Event) Check() error { return e.check(false) }

// CheckIncoming is Check for an event entering eventrunner: it also
// refuses eventrunner's own extensions (ReservedExtensions), which only
// the engine sets. Every ingest path runs it.
func (e *Event) CheckIncoming() error { return e.check(true) }

func (e *Event) check(incoming bool) error {
	switch {
	case e.SpecVersion == "":
		return &AttributeError{"specversion", "required"}
	case e.SpecVersion != SpecVersion:
		return &AttributeError{"specversion", fmt.Sprintf("must be %q, got %q", SpecVersion, truncate(e.SpecVersion, 40))}
	}
	for _, a := range [...]struct {
		name, v  string
		required bool
	}{
		{"id", e.ID, true}, {"source", e.Source, true}, {"type", e.Type, true}, {"subject", e.Subject, false},
		{"time", e.Time, false}, {"datacontenttype", e.DataContentType, false}, {"dataschema", e.DataSchema, false}, {"tenantid", e.TenantID, false},
	} {
		if a.v == "" {
			if a.required {
				return &AttributeError{a.name, "required, non-empty"}
			}
			continue
		}
		if p := stringProblem(a.v); p != "" {
			return &AttributeError{a.name, p}
		}
		if strings.TrimSpace(a.v) == "" { // sdk-go, for one, reads it as missing
			return &AttributeError{a.name, "must not be blank (white space only)"}
		}
	}
	if p := uriRefProblem(e.Source); p != "" {
		return &AttributeError{"source", "must be a URI-reference: " + p}
	}
	if e.Source == "#" { // a valid URI-reference, but it names nothing (sdk-go reads it as absent)
		return &AttributeError{"source", "must identify the event's context: an empty fragment alone does not"}
	}
	if e.Time != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			return &AttributeError{"time", fmt.Sprintf("must be RFC 3339, got %q", truncate(e.Time, 40))}
		}
	}
	if ct := e.DataContentType; ct != "" && ct != "application/json" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return &AttributeError{"datacontenttype", fmt.Sprintf("must be a media type (RFC 2046), got %q: %v", truncate(ct, 40), err)}
		}
	}
	if e.DataSchema != "" {
		if p := uriRefProblem(e.DataSchema); p != "" {
			return &AttributeError{"dataschema", "must be a URI-reference: " + p}
		}
	}
	if len(e.Extensions) > 0 {
		return e.checkExtensions(incoming)
	}
	return nil
}

// checkExtensions reports the problem of the first bad extension by name;
// with incoming, eventrunner's own are bad.
func (e *Event) checkExtensions(incoming bool) error {
	var bad *AttributeError
	badName := ""
	for name, v := range e.Extensions {
		if bad != nil && name > badName {
			continue
		}
		reason := ""
		switch {
		case !validAttributeName(name):
			reason = "attribute names must be 1-20 lower-case letters or digits"
		case isMember(name):
			reason = "is not an extension attribute"
		case incoming && IsReserved(name):
			reason = "is set by eventrunner on processed events (" + strings.Join(ReservedExtensions, ", ") + "); producers cannot send it"
		default:
			reason = extensionProblem(v)
		}
		if reason != "" {
			badName = name
			bad = &AttributeError{strings.ToValidUTF8(truncate(name, 40), "\uFFFD"), reason}
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}

// ParseStructured parses one event in the structured JSON format and checks
// its attributes (Check; ingest adds CheckIncoming). data_base64 is accepted when it holds JSON. Data and
// extension values alias b.
func ParseStructured(b []byte) (*Event, error) {
	e := &Event{}
	if err := Parse(b, e); err != nil {
		return nil, err
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return e, nil
}

// IsJSONContentType reports whether a datacontenttype denotes JSON data
// (absent means JSON in the structured format).
func IsJSONContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

func validAttributeName(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
