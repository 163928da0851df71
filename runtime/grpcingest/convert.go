package grpcingest

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// eventOf reads a CloudEvent of the protobuf format. Optional attributes
// (subject, time, datacontenttype, dataschema, tenantid) and extensions
// come from the attributes map; data must be JSON, in text_data or
// binary_data. Spec checks are left to the Normalizer, as over HTTP.
//
// vtprotobuf does not check that strings are UTF-8 as protobuf does, so
// eventOf does.
func eventOf(m *cepb.CloudEvent) (*cloudevents.Event, error) {
	ev := &cloudevents.Event{SpecVersion: m.GetSpecVersion(), ID: m.GetId(), Source: m.GetSource(), Type: m.GetType()}
	for name, s := range map[string]string{"id": ev.ID, "source": ev.Source, "spec_version": ev.SpecVersion, "type": ev.Type} {
		if !utf8.ValidString(s) {
			return ev, notUTF8(name)
		}
	}
	for name, v := range m.GetAttributes() {
		if !utf8.ValidString(name) {
			return ev, notUTF8("attributes")
		}
		if err := setAttr(ev, name, v); err != nil {
			return ev, err
		}
	}
	switch d := m.GetData().(type) {
	case *cepb.CloudEvent_TextData:
		if !utf8.ValidString(d.TextData) {
			return ev, notUTF8("text_data")
		}
		ev.Data = []byte(d.TextData)
	case *cepb.CloudEvent_BinaryData:
		ev.Data = d.BinaryData
	case *cepb.CloudEvent_ProtoData:
		return ev, &accept.Error{Kind: accept.KindAttribute, Field: "proto_data",
			Reason: "protobuf data is not supported: send the JSON data in text_data or binary_data"}
	}
	if len(ev.Data) == 0 {
		ev.Data = nil
		return ev, nil
	}
	// One linear pass with bounded nesting before any decoder sees it.
	if err := cloudevents.CheckJSON(ev.Data); err != nil {
		field := "text_data"
		if _, ok := m.GetData().(*cepb.CloudEvent_BinaryData); ok {
			field = "binary_data"
		}
		return ev, &accept.Error{Kind: accept.KindMalformed, Field: field, Reason: "not valid JSON: " + err.Error(), Err: err}
	}
	return ev, nil
}

func notUTF8(field string) error {
	return &accept.Error{Kind: accept.KindMalformed, Field: field, Reason: "not valid UTF-8"}
}

func setAttr(ev *cloudevents.Event, name string, v *cepb.CloudEvent_CloudEventAttributeValue) error {
	if s, ok := attrString(v); ok && !utf8.ValidString(s) {
		return notUTF8(name)
	}
	switch name {
	case "subject", "time", "datacontenttype", "dataschema", "tenantid":
		s, ok := attrString(v)
		if !ok {
			return &accept.Error{Kind: accept.KindAttribute, Field: name, Reason: "must be a string, URI or timestamp attribute value"}
		}
		switch name {
		case "subject":
			ev.Subject = s
		case "time":
			ev.Time = s
		case "datacontenttype":
			ev.DataContentType = s
		case "dataschema":
			ev.DataSchema = s
		case "tenantid":
			ev.TenantID = s
		}
		return nil
	case "id", "source", "specversion", "type":
		return &accept.Error{Kind: accept.KindAttribute, Field: name, Reason: "is a field of CloudEvent, not an entry of attributes"}
	}
	if ev.Extensions == nil {
		ev.Extensions = map[string]json.RawMessage{}
	}
	ev.Extensions[name] = attrJSON(v)
	return nil
}

// attrString is the canonical string of a string-like attribute value.
func attrString(v *cepb.CloudEvent_CloudEventAttributeValue) (string, bool) {
	switch a := v.GetAttr().(type) {
	case *cepb.CloudEvent_CloudEventAttributeValue_CeString:
		return a.CeString, true
	case *cepb.CloudEvent_CloudEventAttributeValue_CeUri:
		return a.CeUri, true
	case *cepb.CloudEvent_CloudEventAttributeValue_CeUriRef:
		return a.CeUriRef, true
	case *cepb.CloudEvent_CloudEventAttributeValue_CeTimestamp:
		return a.CeTimestamp.AsTime().Format(time.RFC3339Nano), true
	}
	return "", false
}

// attrJSON is an extension's value as the JSON format writes it.
func attrJSON(v *cepb.CloudEvent_CloudEventAttributeValue) json.RawMessage {
	switch a := v.GetAttr().(type) {
	case *cepb.CloudEvent_CloudEventAttributeValue_CeBoolean:
		return json.RawMessage(strconv.FormatBool(a.CeBoolean))
	case *cepb.CloudEvent_CloudEventAttributeValue_CeInteger:
		return json.RawMessage(strconv.FormatInt(int64(a.CeInteger), 10))
	case *cepb.CloudEvent_CloudEventAttributeValue_CeBytes:
		return quote(base64.StdEncoding.EncodeToString(a.CeBytes))
	}
	s, _ := attrString(v)
	return quote(s)
}

// quote is s as a JSON string, without reflection.
func quote(s string) json.RawMessage { return rules.AppendString(nil, s) }

// typedToEvent makes the CloudEvent of an event received typed: type and
// dataschema from its fact's schema, data the fact's JSON (generated
// encoder). The extension "tenantid" is the tenantid attribute.
func (s *Server) typedToEvent(te *rules.TypedEvent) (*cloudevents.Event, error) {
	sch, ok := s.cfg.Registry.Schema(te.Fact.SchemaID())
	if !ok {
		return nil, &accept.Error{Kind: accept.KindUnknownSchema, Field: "dataschema", Reason: "schema " + te.Fact.SchemaID() + " is not in this engine's bundle"}
	}
	ev := &cloudevents.Event{
		SpecVersion: cloudevents.SpecVersion,
		ID:          te.ID,
		Source:      te.Source,
		Type:        sch.Type,
		Subject:     te.Subject,
		Time:        te.Time,
		DataSchema:  sch.ID,
		Data:        te.Fact.AppendJSON(make([]byte, 0, 512)),
	}
	for name, s := range map[string]string{"id": ev.ID, "source": ev.Source, "subject": ev.Subject} {
		if !utf8.ValidString(s) {
			return ev, notUTF8(name)
		}
	}
	if !utf8.Valid(ev.Data) {
		return ev, notUTF8("data")
	}
	for k, v := range te.Extensions {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return ev, notUTF8("extensions")
		}
		if k == "tenantid" {
			ev.TenantID = v
			continue
		}
		if ev.Extensions == nil {
			ev.Extensions = make(map[string]json.RawMessage, len(te.Extensions))
		}
		ev.Extensions[k] = quote(v)
	}
	return ev, nil
}
