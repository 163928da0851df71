package cloudevents

import (
	"bytes"
	"encoding/base64"
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
// its attributes. data_base64 is accepted when it holds JSON.
func ParseStructured(b []byte) (*Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cloudevent: not a JSON object: %w", err)
	}
	e := &Event{}
	for k, v := range raw {
		if err := e.set(k, v); err != nil {
			return nil, err
		}
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return e, nil
}

// set assigns one attribute of the structured format.
func (e *Event) set(k string, v json.RawMessage) error {
	str := func(dst *string) error {
		if err := json.Unmarshal(v, dst); err != nil {
			return &AttributeError{k, "must be a string"}
		}
		return nil
	}
	switch k {
	case "specversion":
		return str(&e.SpecVersion)
	case "id":
		return str(&e.ID)
	case "source":
		return str(&e.Source)
	case "type":
		return str(&e.Type)
	case "subject":
		return str(&e.Subject)
	case "time":
		return str(&e.Time)
	case "datacontenttype":
		return str(&e.DataContentType)
	case "dataschema":
		return str(&e.DataSchema)
	case "tenantid":
		return str(&e.TenantID)
	case "data":
		if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			e.Data = v
		}
		return nil
	case "data_base64":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return &AttributeError{k, "must be a base64 string"}
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return &AttributeError{k, "invalid base64: " + err.Error()}
		}
		if !json.Valid(d) {
			return &AttributeError{k, "must decode to JSON data"}
		}
		e.Data = d
		return nil
	}
	if e.Extensions == nil {
		e.Extensions = map[string]json.RawMessage{}
	}
	e.Extensions[k] = v
	return nil
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

// AppendStructured appends the event in the structured JSON format with
// data replaced by data (already JSON) and extra extensions added.
func (e *Event) AppendStructured(dst []byte, data []byte, extra map[string]any) ([]byte, error) {
	m := map[string]any{
		"specversion": e.SpecVersion,
		"id":          e.ID,
		"source":      e.Source,
		"type":        e.Type,
	}
	for k, v := range map[string]string{"subject": e.Subject, "time": e.Time, "datacontenttype": e.DataContentType, "dataschema": e.DataSchema, "tenantid": e.TenantID} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range e.Extensions {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	if data != nil {
		m["data"] = json.RawMessage(data)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return dst, fmt.Errorf("cloudevent: encode %s: %w", e.ID, err)
	}
	return append(dst, b...), nil
}
