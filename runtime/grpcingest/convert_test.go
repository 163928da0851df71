package grpcingest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
)

func attr(v any) *cepb.CloudEvent_CloudEventAttributeValue {
	switch v := v.(type) {
	case bool:
		return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeBoolean{CeBoolean: v}}
	case int32:
		return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeInteger{CeInteger: v}}
	case []byte:
		return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeBytes{CeBytes: v}}
	case time.Time:
		return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeTimestamp{CeTimestamp: timestamppb.New(v)}}
	}
	return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeUriRef{CeUriRef: v.(string)}}
}

func TestEventOf(t *testing.T) {
	m := &cepb.CloudEvent{
		Id: "1", Source: "/s", SpecVersion: "1.0", Type: "t",
		Attributes: map[string]*cepb.CloudEvent_CloudEventAttributeValue{
			"time":       attr(time.Date(2026, 11, 28, 9, 0, 0, 5000, time.UTC)),
			"subject":    attr("sub"),
			"dataschema": attr("t/v2"),
			"tenantid":   attr("acme"),
			"flag":       attr(true),
			"count":      attr(int32(-3)),
			"blob":       attr([]byte{1, 2}),
			"quote":      attr(`say "hi"`),
		},
		Data: &cepb.CloudEvent_BinaryData{BinaryData: []byte(`{"a":1}`)},
	}
	ev, err := eventOf(m)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Time != "2026-11-28T09:00:00.000005Z" || ev.Subject != "sub" || ev.DataSchema != "t/v2" || ev.TenantID != "acme" || string(ev.Data) != `{"a":1}` {
		t.Fatalf("attributes: %+v", ev)
	}
	ext, _ := json.Marshal(ev.Extensions)
	if string(ext) != `{"blob":"AQI=","count":-3,"flag":true,"quote":"say \"hi\""}` {
		t.Fatalf("extensions %s", ext)
	}
	refused := []struct {
		name string
		m    *cepb.CloudEvent
	}{
		{"id", &cepb.CloudEvent{Attributes: map[string]*cepb.CloudEvent_CloudEventAttributeValue{"id": attr("x")}}},
		{"time", &cepb.CloudEvent{Attributes: map[string]*cepb.CloudEvent_CloudEventAttributeValue{"time": attr(true)}}},
		{"proto_data", &cepb.CloudEvent{Data: &cepb.CloudEvent_ProtoData{}}},
	}
	for _, r := range refused {
		_, err := eventOf(r.m)
		var re *accept.Error
		if !errors.As(err, &re) || re.Field != r.name {
			t.Errorf("%s: %v", r.name, err)
		}
	}
}

// FuzzUnmarshalCloudEvent holds vtprotobuf's generated unmarshaller to
// protobuf's. Where both accept, the messages' known fields are equal.
// vtprotobuf is stricter in places (a known field with the wrong wire type,
// which protobuf keeps as unknown: the client gets an error) and more
// lenient in two: it skips malformed unknown groups, and it does not check
// that strings are UTF-8, which eventOf then refuses.
func FuzzUnmarshalCloudEvent(f *testing.F) {
	seed := event("seed")
	seed.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"time": attr(time.Unix(1, 2)), "x": attr(int32(7))}
	b, _ := proto.Marshal(seed)
	f.Add(b)
	b, _ = proto.Marshal(&cepb.CloudEventBatch{Events: []*cepb.CloudEvent{seed, event("2")}})
	f.Add(b)
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var vt, ref cepb.CloudEvent
		errVT, errRef := vt.UnmarshalVT(b), proto.Unmarshal(b, &ref)
		switch {
		case errVT == nil && errRef == nil:
			// Unknown fields are not compared: vtprotobuf's Any drops them.
			dropUnknown(vt.ProtoReflect())
			dropUnknown(ref.ProtoReflect())
			if !proto.Equal(&vt, &ref) {
				t.Fatalf("vtproto %v\nprotobuf %v", &vt, &ref)
			}
		case errVT == nil && errRef != nil:
			// What vtprotobuf decoded (unknown fields aside, which it keeps
			// as they came) is a well-formed message, and eventOf refuses it
			// if its strings are not UTF-8.
			dropUnknown(vt.ProtoReflect())
			again, err := vt.MarshalVT()
			if err != nil {
				t.Fatal(err)
			}
			var check cepb.CloudEvent
			if err := proto.Unmarshal(again, &check); err != nil {
				if !strings.Contains(err.Error(), "invalid UTF-8") {
					t.Fatalf("vtproto decoded a message protobuf cannot read back: %v", err)
				}
				if _, err := eventOf(&vt); err == nil {
					t.Fatalf("eventOf took a string that is not UTF-8: %v", &vt)
				}
			}
		}
	})
}

func dropUnknown(m protoreflect.Message) {
	if !m.IsValid() {
		return
	}
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					dropUnknown(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len(); i++ {
					dropUnknown(v.List().Get(i).Message())
				}
			}
		case fd.Message() != nil:
			dropUnknown(v.Message())
		}
		return true
	})
}
