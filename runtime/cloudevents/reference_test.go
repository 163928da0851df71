package cloudevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// parseReference is the structured format over encoding/json: the
// reference Parse is held to.
func parseReference(b []byte) (*Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cloudevent: not a JSON object: %w", err)
	}
	e := &Event{}
	for k, v := range raw {
		if err := e.setReference(k, v); err != nil {
			return nil, err
		}
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return e, nil
}

// setReference assigns one attribute of the structured format.
func (e *Event) setReference(k string, v json.RawMessage) error {
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
