package cloudevents

import (
	"encoding/json"
	"fmt"
	"net/url"
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
// attributes present and non-empty, specversion 1.0, time in RFC 3339,
// dataschema and source URI-references, extension names lower-case
// alphanumeric.
func (e *Event) Check() error {
	switch {
	case e.SpecVersion == "":
		return &AttributeError{"specversion", "required"}
	case e.SpecVersion != SpecVersion:
		return &AttributeError{"specversion", fmt.Sprintf("must be %q, got %q", SpecVersion, e.SpecVersion)}
	case e.ID == "":
		return &AttributeError{"id", "required, non-empty"}
	case e.Source == "":
		return &AttributeError{"source", "required, non-empty"}
	case e.Type == "":
		return &AttributeError{"type", "required, non-empty"}
	}
	if _, err := url.Parse(e.Source); err != nil {
		return &AttributeError{"source", "must be a URI-reference: " + err.Error()}
	}
	if e.Time != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			return &AttributeError{"time", fmt.Sprintf("must be RFC 3339, got %q", e.Time)}
		}
	}
	if e.DataSchema != "" {
		if _, err := url.Parse(e.DataSchema); err != nil {
			return &AttributeError{"dataschema", "must be a URI: " + err.Error()}
		}
	}
	for name := range e.Extensions {
		if !validAttributeName(name) {
			return &AttributeError{name, "attribute names must be 1-20 lower-case letters or digits"}
		}
	}
	return nil
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

// ParseStructured parses one event in the structured JSON format and checks
// its attributes. data_base64 is accepted when it holds JSON. Data and
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
