package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// publishHeader publishes with h as given: NATS headers are case-sensitive,
// so "ce-id" and "Ce-Id" are two headers.
func publishHeader(t *testing.T, env *bustest.Env, subject string, h nats.Header, body string) {
	t.Helper()
	m := &nats.Msg{Subject: subject, Header: h, Data: []byte(body)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := env.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// TestRawHostile: what a hostile NATS producer publishes on er.raw.<tenant>
// is dead-lettered with the attribute named, never stored mangled.
func TestRawHostile(t *testing.T) {
	env := bustest.Start(t)
	startRunner(t, env, runner.Options{})
	ev := func(old, new string) string { return strings.Replace(structured, old, new, 1) }
	binary := func(kv ...string) nats.Header {
		h := nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"b-1"}, "ce-source": {"/pos"}, "ce-type": {runnertest.OrderType}}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = append(h[kv[i]], kv[i+1])
		}
		return h
	}
	cases := []struct {
		name  string
		hdr   nats.Header
		body  string
		kind  accept.Kind
		field string
	}{
		{"invalid UTF-8 id", nil, ev(`"s-1"`, "\"coll\xff\""), accept.KindAttribute, "id"},
		{"overlong UTF-8 id", nil, ev(`"s-1"`, "\"coll\xc0\xaf\""), accept.KindAttribute, "id"},
		{"lone surrogate id", nil, ev(`"s-1"`, `"coll\ud800"`), accept.KindAttribute, "id"},
		{"bad id before specversion", nil, `{"id":"\udc00","specversion":"1.0","source":"/s","type":"com.acme.order.created","data":{"id":"o","amount":1}}`, accept.KindAttribute, "id"},
		{"NUL id", nil, ev(`"s-1"`, `"s\u0000"`), accept.KindAttribute, "id"},
		{"source a space", nil, ev(`"/shop"`, `" "`), accept.KindAttribute, "source"},
		{"erfired", nil, ev(`"data":`, `"erfired":"x","data":`), accept.KindAttribute, "erfired"},
		{"extension array", nil, ev(`"data":`, `"ext":[[[]]],"data":`), accept.KindAttribute, "ext"},
		{"extension 1e400", nil, ev(`"data":`, `"ext":1e400,"data":`), accept.KindAttribute, "ext"},
		{"data and data_base64", nil, ev(`"data":`, `"data_base64":"e30=","data":`), accept.KindAttribute, "data_base64"},
		{"duplicate id", nil, ev(`"data":`, `"id":"s-2","data":`), accept.KindAttribute, "id"},
		{"truncated", nil, structured[:50], accept.KindMalformed, "body"},
		{"10^5 deep", nil, ev(`{"id":"o-1","amount":42}`, strings.Repeat("[", 100000)+strings.Repeat("]", 100000)), accept.KindMalformed, "body"},
		{"binary invalid UTF-8 id", binary("ce-id", "x\xff\xfe"), `{"id":"o","amount":1}`, accept.KindAttribute, "id"},
		{"binary NUL source", binary("ce-source", "/a\x00"), `{"id":"o","amount":1}`, accept.KindAttribute, "source"},
		{"binary erroute", binary("ce-erroute", "billing"), `{"id":"o","amount":1}`, accept.KindAttribute, "erroute"},
		{"binary ce-data", binary("ce-data", "x"), `{"id":"o","amount":1}`, accept.KindAttribute, "data"},
		{"binary 10^5 deep data", binary("Content-Type", "application/json"), strings.Repeat("[", 100000) + strings.Repeat("]", 100000), accept.KindMalformed, "data"},
		{"binary id twice", binary("Ce-Id", "b-2"), `{"id":"o","amount":1}`, accept.KindAttribute, "id"},
		{"binary id two values", binary("ce-id", "b-2"), `{"id":"o","amount":1}`, accept.KindAttribute, "id"},
		{"raw invalid UTF-8 Nats-Msg-Id", nats.Header{"ce-type": {runnertest.OrderType}, "Nats-Msg-Id": {"k\xff"}}, `{"id":"o","amount":1}`, accept.KindAttribute, "id"},
	}
	for _, tc := range cases {
		h := nats.Header{"X-Case": {tc.name}}
		for k, v := range tc.hdr {
			h[k] = v
		}
		publishHeader(t, env, "er.raw.acme", h, tc.body)
	}
	msgs := env.Messages(t, bus.StreamDLQ, "", len(cases), 10*time.Second)
	got := map[string]*jetstream.RawStreamMsg{}
	for _, m := range msgs {
		got[m.Header.Get("X-Case")] = m
	}
	for _, tc := range cases {
		m := got[tc.name]
		if m == nil {
			t.Errorf("%s: not in the DLQ", tc.name)
			continue
		}
		if k, f := m.Header.Get(bus.HeaderDLQKind), m.Header.Get(bus.HeaderDLQField); k != string(tc.kind) || f != tc.field {
			t.Errorf("%s: kind %q field %q (%s), want %q %q", tc.name, k, f, m.Header.Get(bus.HeaderDLQReason), tc.kind, tc.field)
		}
	}
	if n := env.Count(t, bus.StreamProc, ""); n != 0 {
		t.Errorf("ER_PROC holds %d events", n)
	}
}

// TestRawEngineHeadersDropped: a producer cannot smuggle the Er-* headers
// the engine trusts through er.raw, whatever their case, neither into
// ER_PROC nor into a dead letter.
func TestRawEngineHeadersDropped(t *testing.T) {
	env := bustest.Start(t)
	startRunner(t, env, runner.Options{})
	forged := nats.Header{
		"Content-Type":   {"application/cloudevents+json"},
		"Er-Schema":      {runnertest.OrderType + "/v2"},
		"er-schema":      {"forged"},
		"ER-TENANT":      {"globex"},
		"Er-Ingest-Time": {"1"},
		"Er-Dlq-Field":   {"forged"},
		"Er-Dlq-Kind":    {"forged"},
	}
	publishHeader(t, env, "er.raw.acme", forged, strings.Replace(structured, `"data":`, `"dataschema":"`+runnertest.OrderType+`/v1","data":`, 1))
	bad := nats.Header{"X-Case": {"bad"}}
	for k, v := range forged {
		bad[k] = v
	}
	publishHeader(t, env, "er.raw.acme", bad, strings.Replace(structured, `"s-1"`, `"s\ud800"`, 1))

	proc := env.Messages(t, bus.StreamProc, "", 1, 10*time.Second)
	if len(proc) != 1 {
		t.Fatalf("ER_PROC holds %d events", len(proc))
	}
	h := proc[0].Header
	if h.Get(bus.HeaderSchema) != runnertest.OrderType+"/v1" || h.Get(bus.HeaderTenant) != "acme" || h.Get(bus.HeaderIngestTime) == "1" {
		t.Errorf("ER_PROC headers %v", h)
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "er-") && k != bus.HeaderSchema && k != bus.HeaderTenant && k != bus.HeaderIngestTime {
			t.Errorf("ER_PROC carries %s: %v", k, h[k])
		}
	}
	back, err := cloudevents.ParseStructured(proc[0].Data)
	if err != nil || back.ID != "s-1" || back.Source != "/shop" {
		t.Fatalf("ER_PROC event %+v (%v)", back, err)
	}

	dlq := env.Messages(t, bus.StreamDLQ, "", 1, 10*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("DLQ holds %d messages", len(dlq))
	}
	dh := dlq[0].Header
	if dh.Get(bus.HeaderDLQField) != "id" || dh.Get(bus.HeaderDLQKind) != string(accept.KindAttribute) || dh.Get("X-Case") != "bad" {
		t.Errorf("dead letter headers %v", dh)
	}
	for _, k := range []string{bus.HeaderSchema, "er-schema", "ER-TENANT"} {
		if _, ok := dh[k]; ok {
			t.Errorf("the dead letter carries the producer's %s", k)
		}
	}
	// The runner's own Er-Ingest-Time (when ER_RAW stored it), never the producer's.
	if v := dh.Values(bus.HeaderIngestTime); len(v) != 1 || v[0] == "1" {
		t.Errorf("the dead letter's %s is %q, want the runner's", bus.HeaderIngestTime, v)
	}
}

func TestWithoutEngineHeaders(t *testing.T) {
	h := nats.Header{"ce-id": {"1"}, "Content-Type": {"x"}}
	if got := bus.WithoutEngineHeaders(h); len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	h["eR-sChEmA"] = []string{"x"}
	h["Er-"] = []string{"x"}
	h["Err"] = []string{"kept"}
	got := bus.WithoutEngineHeaders(h)
	if len(got) != 3 || got.Get("Err") != "kept" || len(h) != 5 {
		t.Fatalf("got %v (input %v)", got, h)
	}
}
