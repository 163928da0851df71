package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
)

// readingEvent is the first sample event of rules/iot (the one
// runtime/cloudevents' BenchmarkParseVsSDKGo reads), as a producer sends it
// in structured mode.
var readingEvent = []byte(`{"specversion": "1.0", "id": "iot-000", "source": "gw/plant-1", "type": "com.acme.iot.reading", "time": "2026-11-28T09:00:00Z", "tenantid": "acme", "datacontenttype": "application/json", "data": {"deviceId": "dev-ab12cd", "site": "plant-1", "sensor": "temperature", "value": 21.5, "unit": "C", "samples": [21.2, 21.5, 21.9], "battery": 80, "firmware": "2.3.1", "recordedAt": "2026-11-28T09:00:00Z"}, "subject": "dev-ab12cd"}`)

// readingBinary is the same event in the HTTP binding's binary mode: the
// attributes in ce-* headers, the data as the body.
func readingBinary() (http.Header, []byte) {
	h := http.Header{}
	for name, v := range map[string]string{"id": "iot-000", "source": "gw/plant-1", "type": "com.acme.iot.reading",
		"time": "2026-11-28T09:00:00Z", "tenantid": "acme", "subject": "dev-ab12cd", "specversion": "1.0"} {
		h.Set("ce-"+name, v)
	}
	h.Set("Content-Type", "application/json")
	var ev struct{ Data json.RawMessage }
	if err := json.Unmarshal(readingEvent, &ev); err != nil {
		panic(err)
	}
	return h, ev.Data
}

// cloudEventCases are the rows "fast codec vs sdk-go": the hand-written
// CloudEvents readers of the hot path against sdk-go v2 reading the same
// bytes, each side with the checks it makes before an event is taken
// (CheckIncoming; sdk-go's Validate).
func cloudEventCases() []Case {
	h, body := readingBinary()
	var reused cloudevents.Event // reused, as BenchmarkParseVsSDKGo does (Parse resets it)
	return []Case{
		{
			Name: fmt.Sprintf("CloudEvent structured (%d B): fast codec vs sdk-go", len(readingEvent)),
			Ours: perEvent(len(readingEvent), func() error {
				if err := cloudevents.Parse(readingEvent, &reused); err != nil {
					return err
				}
				return reused.CheckIncoming()
			}),
			Baseline: perEvent(len(readingEvent), func() error { _, err := sdkStructured(readingEvent); return err }),
			Check: func() error {
				return sameEvent(func() (*cloudevents.Event, error) { return parseStructured(readingEvent) },
					func() (*event.Event, error) { return sdkStructured(readingEvent) })
			},
		},
		{
			Name:     "CloudEvent HTTP binary: fast codec vs sdk-go binding.ToEvent",
			Ours:     perEvent(len(body), func() error { _, err := cloudevents.FromHTTPBinary(h, h.Get("Content-Type"), body); return err }),
			Baseline: perEvent(len(body), func() error { _, err := sdkBinary(h, body); return err }),
			Check: func() error {
				return sameEvent(func() (*cloudevents.Event, error) { return cloudevents.FromHTTPBinary(h, h.Get("Content-Type"), body) },
					func() (*event.Event, error) { return sdkBinary(h, body) })
			},
		},
	}
}

func perEvent(size int, read func() error) func(b *testing.B) {
	return func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if err := read(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// parseStructured is what the ingest paths ask of a structured event.
func parseStructured(raw []byte) (*cloudevents.Event, error) {
	var ev cloudevents.Event
	if err := cloudevents.Parse(raw, &ev); err != nil {
		return nil, err
	}
	return &ev, ev.CheckIncoming()
}

func sdkStructured(raw []byte) (*event.Event, error) {
	e := event.New()
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	return &e, e.Validate()
}

func sdkBinary(h http.Header, body []byte) (*event.Event, error) {
	e, err := binding.ToEvent(context.Background(), cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body))))
	if err != nil {
		return nil, err
	}
	return e, e.Validate()
}

// sameEvent reads the event both ways and compares the attributes and the
// data (as JSON values: sdk-go keeps the bytes as sent, so does eventrunner).
func sameEvent(ours func() (*cloudevents.Event, error), sdk func() (*event.Event, error)) error {
	o, err := ours()
	if err != nil {
		return fmt.Errorf("eventrunner: %w", err)
	}
	s, err := sdk()
	if err != nil {
		return fmt.Errorf("sdk-go: %w", err)
	}
	tm, err := time.Parse(time.RFC3339Nano, o.Time)
	if err != nil {
		return err
	}
	a := []string{o.ID, o.Source, o.Type, o.Subject, o.DataContentType, o.DataSchema, o.TenantID}
	b := []string{s.ID(), s.Source(), s.Type(), s.Subject(), s.DataContentType(), s.DataSchema(), fmt.Sprint(s.Extensions()["tenantid"])}
	var da, db any
	if err := json.Unmarshal(o.Data, &da); err != nil {
		return err
	}
	if err := json.Unmarshal(s.Data(), &db); err != nil {
		return err
	}
	if !reflect.DeepEqual(a, b) || !tm.Equal(s.Time()) || !reflect.DeepEqual(da, db) || len(o.Extensions) != len(s.Extensions())-1 {
		return fmt.Errorf("readers disagree:\neventrunner %v %s %s\nsdk-go      %v %s %s", a, o.Time, o.Data, b, s.Time(), s.Data())
	}
	return nil
}
