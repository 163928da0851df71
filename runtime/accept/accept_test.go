package accept_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

var order = runnertest.OrderEvent

func TestNormalize(t *testing.T) {
	reg := runnertest.Registry()
	for _, tc := range []struct {
		name   string
		tenant string
		ev     *cloudevents.Event
		kind   accept.Kind // "" when valid
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
		{name: "bad tenant", tenant: "ACME", ev: order(nil), kind: accept.KindTenant, field: "tenantid", reason: "invalid character 'A'"},
		{name: "other tenant", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.TenantID = "globex" }), kind: accept.KindTenant, field: "tenantid", reason: `names tenant "globex"`},
		{name: "missing specversion", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.SpecVersion = "" }), kind: accept.KindAttribute, field: "specversion", reason: "required"},
		{name: "bad specversion", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.SpecVersion = "0.3" }), kind: accept.KindAttribute, field: "specversion", reason: `must be "1.0", got "0.3"`},
		{name: "missing id", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.ID = "" }), kind: accept.KindAttribute, field: "id", reason: "required"},
		{name: "missing source", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Source = "" }), kind: accept.KindAttribute, field: "source", reason: "required"},
		{name: "bad time", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Time = "yesterday" }), kind: accept.KindAttribute, field: "time", reason: "RFC 3339"},
		{name: "type with space", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Type = "com.acme order" }), kind: accept.KindAttribute, field: "type", reason: "byte 0x20"},
		{name: "type with wildcard", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Type = "com.acme.>" }), kind: accept.KindAttribute, field: "type", reason: "wildcard"},
		{name: "xml data", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataContentType = "application/xml" }), kind: accept.KindAttribute, field: "datacontenttype", reason: "must be JSON"},
		{name: "unknown type", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Type = "com.acme.refund.issued" }), kind: accept.KindUnknownType, field: "type", reason: `unknown event type "com.acme.refund.issued"`},
		{name: "unknown version", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "com.acme.order.created/v9" }), kind: accept.KindUnknownSchema, field: "dataschema", reason: "unknown schema com.acme.order.created/v9: com.acme.order.created has v1, v2 in this bundle"},
		{name: "dataschema of another type", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "com.acme.payment.captured/v1" }), kind: accept.KindUnknownSchema, field: "dataschema", reason: `names a schema of type "com.acme.payment.captured", but the event's type is "com.acme.order.created"`},
		{name: "dataschema without version", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.DataSchema = "https://x/order" }), kind: accept.KindUnknownSchema, field: "dataschema", reason: "must be <type>/v<N> or an absolute URI ending in /<type>/v<N>"},
		{name: "no data", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = nil }), kind: accept.KindInvalidData, field: "data", reason: "required"},
		{name: "negative amount", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = json.RawMessage(`{"id":"x","amount":-5}`) }), kind: accept.KindInvalidData, field: "data.$.amount", reason: "$.amount: must be >= 0, got -5"},
		{name: "every violation", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = json.RawMessage(`{"amount":"x","extra":1}`) }),
			kind: accept.KindInvalidData, field: "data.$.amount", reason: "$.amount: must be an integer, got string; $.extra: unknown property; $.id: is required"},
		{name: "malformed data", tenant: "acme", ev: order(func(e *cloudevents.Event) { e.Data = json.RawMessage(`{"id":`) }), kind: accept.KindMalformed, field: "data", reason: "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := accept.Normalize(reg, tc.tenant, tc.ev)
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
			var e *accept.Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize = %v (%T), want *accept.Error", err, err)
			}
			if e.Kind != tc.kind || e.Field != tc.field || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("Normalize = kind %q field %q reason %q\nwant kind %q field %q reason containing %q", e.Kind, e.Field, e.Reason, tc.kind, tc.field, tc.reason)
			}
			if tc.kind == accept.KindInvalidData && tc.field != "data" && len(e.Violations) == 0 {
				t.Error("no violations listed")
			}
		})
	}
}

// TestCanonicalDataschema: with a base, every valid event leaves with the
// canonical URL of the version it was validated against, whatever form of
// dataschema it came with; a refused one names dataschema and shows the
// canonical form.
func TestCanonicalDataschema(t *testing.T) {
	const base = "https://events.acme.com/er"
	n := accept.NewNormalizer(runnertest.Registry(), base)
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "", want: base + "/v1/schemas/com.acme.order.created/v2"},
		{in: "com.acme.order.created/v1", want: base + "/v1/schemas/com.acme.order.created/v1"},
		{in: base + "/v1/schemas/com.acme.order.created/v1", want: base + "/v1/schemas/com.acme.order.created/v1"},
		{in: "http://127.0.0.1:8080/v1/schemas/com.acme.order.created/v1", want: base + "/v1/schemas/com.acme.order.created/v1"},
		{in: "https://schemas.acme.com/com.acme.order.created/v2", want: base + "/v1/schemas/com.acme.order.created/v2"},
		{in: "/v1/schemas/com.acme.order.created/v1", err: "dataschema: \"/v1/schemas/com.acme.order.created/v1\": must be <type>/v<N> or an absolute URI ending in /<type>/v<N> (such as this engine's /v1/schemas/<type>/v<N>); the latest version is " + base + "/v1/schemas/com.acme.order.created/v2"},
		{in: base + "/v1/schemas/com.acme.order.created/v3", err: "dataschema: unknown schema com.acme.order.created/v3: com.acme.order.created has v1, v2 in this bundle (" + base + "/v1/schemas)"},
	} {
		v, err := n.Normalize("acme", order(func(e *cloudevents.Event) { e.DataSchema = tc.in }))
		if tc.err != "" {
			var e *accept.Error
			if !errors.As(err, &e) || e.Kind != accept.KindUnknownSchema || e.Error() != tc.err {
				t.Errorf("dataschema %q: Normalize = %v\nwant %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("dataschema %q: Normalize = %v", tc.in, err)
			continue
		}
		if v.Event.DataSchema != tc.want {
			t.Errorf("dataschema %q: became %q, want %q", tc.in, v.Event.DataSchema, tc.want)
		}
		back, err := cloudevents.ParseStructured(v.Msg(time.Now()).Data)
		if err != nil || back.DataSchema != tc.want {
			t.Errorf("dataschema %q: ER_PROC event has %q (%v), want %q", tc.in, back.DataSchema, err, tc.want)
		}
	}
}

func TestValidatedMsg(t *testing.T) {
	ev := order(func(e *cloudevents.Event) { e.Time = "2024-05-06T07:08:09Z"; e.Subject = "o-1" })
	v, err := accept.Normalize(runnertest.Registry(), "acme", ev)
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
	for _, bc := range []struct{ name, base, dataschema string }{
		{"no base", "", ""},
		{"base", "https://events.acme.com", ""},
		{"base, URL dataschema", "https://events.acme.com", "https://events.acme.com/v1/schemas/com.acme.order.created/v1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := accept.NewNormalizer(reg, dataschema.Base(bc.base))
			b.ReportAllocs()
			for b.Loop() {
				ev := order(func(e *cloudevents.Event) { e.Time = "2024-05-06T07:08:09Z"; e.DataSchema = bc.dataschema })
				if _, err := n.Normalize("acme", ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
