package runner_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

func order(mut func(*cloudevents.Event)) *cloudevents.Event {
	ev := &cloudevents.Event{
		SpecVersion: "1.0", ID: "o-1", Source: "/shop", Type: runnertest.OrderType,
		Data: json.RawMessage(`{"id":"o-1","amount":42}`),
	}
	if mut != nil {
		mut(ev)
	}
	return ev
}

func TestNormalize(t *testing.T) {
	reg := runnertest.Registry()
	for _, tc := range []struct {
		name   string
		tenant string
		ev     *cloudevents.Event
		kind   runner.Kind // "" when valid
		field  string
		reason string // substring
		schema string // when valid
	}{
		{name: "valid, latest schema", tenant: "acme", ev: order(nil), schema: "com.acme.order.created/v2"},
		{name: "valid, dataschema v1", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "com.acme.order.created/v1" }), schema: "com.acme.order.created/v1"},
		{name: "valid, dataschema URI", tenant: "acme", ev: order(func(e *cloudevents.Event) {
			e.DataSchema = "https://schemas.acme.com/com.acme.order.created/v1"
		}), schema: "com.acme.order.created/v1"},
		{name: "valid, own tenant named", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.TenantID = "acme" }), schema: "com.acme.order.created/v2"},
		{name: "bad tenant", tenant: "ACME", ev: order(nil), kind: runner.KindTenant, field: "tenantid", reason: "invalid character 'A'"},
		{name: "other tenant", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.TenantID = "globex" }), kind: runner.KindTenant, field: "tenantid", reason: `names tenant "globex"`},
		{name: "missing specversion", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.SpecVersion = "" }), kind: runner.KindAttribute, field: "specversion", reason: "required"},
		{name: "bad specversion", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.SpecVersion = "0.3" }), kind: runner.KindAttribute, field: "specversion", reason: `must be "1.0", got "0.3"`},
		{name: "missing id", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.ID = "" }), kind: runner.KindAttribute, field: "id", reason: "required"},
		{name: "missing source", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Source = "" }), kind: runner.KindAttribute, field: "source", reason: "required"},
		{name: "bad time", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Time = "yesterday" }), kind: runner.KindAttribute, field: "time", reason: "RFC 3339"},
		{name: "type with space", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Type = "com.acme order" }), kind: runner.KindAttribute, field: "type", reason: "byte 0x20"},
		{name: "type with wildcard", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Type = "com.acme.>" }), kind: runner.KindAttribute, field: "type", reason: "wildcard"},
		{name: "xml data", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataContentType = "application/xml" }), kind: runner.KindAttribute, field: "datacontenttype", reason: "must be JSON"},
		{name: "unknown type", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Type = "com.acme.refund.issued" }), kind: runner.KindUnknownType, field: "type", reason: `unknown event type "com.acme.refund.issued"`},
		{name: "unknown version", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "com.acme.order.created/v9" }), kind: runner.KindUnknownSchema, field: "dataschema", reason: "unknown schema com.acme.order.created/v9"},
		{name: "dataschema of another type", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "com.acme.payment.captured/v1" }), kind: runner.KindUnknownSchema, field: "dataschema", reason: "does not name event type"},
		{name: "dataschema without version", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "https://x/order" }), kind: runner.KindUnknownSchema, field: "dataschema", reason: "does not end in /v<N>"},
		{name: "no data", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = nil }), kind: runner.KindInvalidData, field: "data", reason: "required"},
		{name: "negative amount", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = json.RawMessage(`{"id":"x","amount":-5}`) }), kind: runner.KindInvalidData, field: "data.$.amount", reason: "$.amount: must be >= 0, got -5"},
		{name: "every violation", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = json.RawMessage(`{"amount":"x","extra":1}`) }),
			kind: runner.KindInvalidData, field: "data.$.amount", reason: "$.amount: must be an integer, got string; $.extra: unknown property; $.id: is required"},
		{name: "malformed data", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = json.RawMessage(`{"id":`) }), kind: runner.KindMalformed, field: "data", reason: "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := runner.Normalize(reg, tc.tenant, tc.ev)
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("Normalize = %v", err)
				}
				if v.Schema.ID != tc.schema || v.Event.TenantID != tc.tenant || v.Subject != "er.proc.acme.com.acme.order.created" {
					t.Fatalf("Validated = schema %s tenant %s subject %s", v.Schema.ID, v.Event.TenantID, v.Subject)
				}
				if _, err := time.Parse(time.RFC3339Nano, v.Event.Time); err != nil {
					t.Errorf("time not filled: %q", v.Event.Time)
				}
				return
			}
			var e *runner.Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize = %v (%T), want *runner.Error", err, err)
			}
			if e.Kind != tc.kind || e.Field != tc.field || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("Normalize = kind %q field %q reason %q\nwant kind %q field %q reason containing %q", e.Kind, e.Field, e.Reason, tc.kind, tc.field, tc.reason)
			}
			if tc.kind == runner.KindInvalidData && tc.field != "data" && len(e.Violations) == 0 {
				t.Error("no violations listed")
			}
		})
	}
}

func TestValidatedMsg(t *testing.T) {
	ev := order(func(e *cloudevents.Event) { e.Time = "2024-05-06T07:08:09Z"; e.Subject = "o-1" })
	v, err := runner.Normalize(runnertest.Registry(), "acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 5)
	m := v.Msg(at)
	for k, want := range map[string]string{
		bus.HeaderMsgID:       "acme//shop/o-1",
		bus.HeaderContentType: "application/cloudevents+json",
		bus.HeaderTenant:      "acme",
		bus.HeaderSchema:      "com.acme.order.created/v2",
		bus.HeaderIngestTime:  "1700000000000000005",
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	back, err := cloudevents.ParseStructured(m.Data)
	if err != nil {
		t.Fatalf("ER_PROC body is not a structured event: %v\n%s", err, m.Data)
	}
	if back.ID != "o-1" || back.TenantID != "acme" || back.Time != "2024-05-06T07:08:09Z" || string(back.Data) != `{"id":"o-1","amount":42}` {
		t.Errorf("ER_PROC event = %+v", back)
	}
}

func BenchmarkNormalize(b *testing.B) {
	reg := runnertest.Registry()
	n := runner.NewNormalizer(reg)
	b.ReportAllocs()
	for b.Loop() {
		ev := order(func(e *cloudevents.Event) { e.Time = "2024-05-06T07:08:09Z" })
		if _, err := n.Normalize("acme", ev); err != nil {
			b.Fatal(err)
		}
	}
}
