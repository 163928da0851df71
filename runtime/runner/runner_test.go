package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// startRunner runs a Runner until the test ends.
var order = runnertest.OrderEvent

func startRunner(t *testing.T, env *bustest.Env, opts runner.Options) *runner.Runner {
	t.Helper()
	opts.Registry = runnertest.Registry()
	if opts.MaxWait == 0 {
		opts.MaxWait = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := runner.New(ctx, env.JS, opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

func publishRaw(t *testing.T, env *bustest.Env, subject string, hdr map[string]string, body string) {
	t.Helper()
	m := nats.NewMsg(subject)
	for k, v := range hdr {
		m.Header.Set(k, v)
	}
	m.Data = []byte(body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := env.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

const structured = `{"specversion":"1.0","id":"s-1","source":"/shop","type":"com.acme.order.created","time":"2024-01-02T03:04:05Z","data":{"id":"o-1","amount":42}}`

func TestRunnerHappyPath(t *testing.T) {
	env := bustest.Start(t)
	reg := prometheus.NewRegistry()
	startRunner(t, env, runner.Options{DefaultType: "", Metrics: reg})

	publishRaw(t, env, "er.raw.acme", map[string]string{"Content-Type": "application/cloudevents+json"}, structured)
	// Sniffed structured mode (no content type).
	publishRaw(t, env, "er.raw.acme", nil, strings.Replace(structured, `"s-1"`, `"s-2"`, 1))
	// Binary mode.
	publishRaw(t, env, "er.raw.acme", map[string]string{"ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/pos", "ce-type": runnertest.OrderType,
		"ce-dataschema": "com.acme.order.created/v1", "Ce-Traceparent": "00-abc", "Content-Type": "application/json"}, `{"id":"o-2","amount":7}`)
	// Raw JSON: type from ce-type, from the subject; id from Nats-Msg-Id.
	publishRaw(t, env, "er.raw.acme", map[string]string{"ce-type": runnertest.OrderType}, `{"id":"o-3","amount":1}`)
	publishRaw(t, env, "er.raw.acme.com.acme.order.created", map[string]string{bus.HeaderMsgID: "producer-key-9"}, `{"id":"o-4","amount":2}`)

	msgs := env.Messages(t, bus.StreamProc, "", 5, 10*time.Second)
	if len(msgs) != 5 {
		t.Fatalf("ER_PROC got %d events, want 5 (DLQ has %d)", len(msgs), env.Count(t, bus.StreamDLQ, ""))
	}
	byData := map[string]*cloudevents.Event{}
	for _, m := range msgs {
		if m.Subject != "er.proc.acme.com.acme.order.created" {
			t.Errorf("subject %s", m.Subject)
		}
		h := m.Header
		if h.Get(bus.HeaderTenant) != "acme" || h.Get(bus.HeaderContentType) != bus.ContentTypeCloudEvents || h.Get(bus.HeaderIngestTime) == "" {
			t.Errorf("headers %v", h)
		}
		ev, err := cloudevents.ParseStructured(m.Data)
		if err != nil {
			t.Fatalf("ER_PROC body: %v: %s", err, m.Data)
		}
		if got, want := h.Get(bus.HeaderMsgID), bus.MsgID("acme", ev.Source, ev.ID); got != want {
			t.Errorf("Nats-Msg-Id %q, want %q", got, want)
		}
		if ev.TenantID != "acme" {
			t.Errorf("tenantid %q", ev.TenantID)
		}
		byData[string(ev.Data)] = ev
	}
	bin := byData[`{"id":"o-2","amount":7}`]
	if bin == nil || bin.ID != "b-1" || bin.DataSchema != "com.acme.order.created/v1" || string(bin.Extensions["traceparent"]) != `"00-abc"` {
		t.Errorf("binary-mode event = %+v", bin)
	}
	raw := byData[`{"id":"o-3","amount":1}`]
	if raw == nil || raw.Source != "nats:er.raw.acme" || raw.Type != runnertest.OrderType || len(raw.ID) != 36 || raw.ID[14] != '7' || raw.Time == "" {
		t.Errorf("wrapped raw event = %+v", raw)
	}
	if ev := byData[`{"id":"o-4","amount":2}`]; ev == nil || ev.ID != "producer-key-9" || ev.Type != runnertest.OrderType {
		t.Errorf("raw event typed by subject = %+v", ev)
	}
	if n := env.Count(t, bus.StreamDLQ, ""); n != 0 {
		t.Errorf("DLQ has %d messages", n)
	}
	waitFor(t, func() bool { return metricValue(t, reg, "eventrunner_runner_events_total", "proc") == 5 })
	// Raw messages are acked: nothing pending for the runner.
	c, _ := env.JS.Consumer(context.Background(), bus.StreamRaw, "runner")
	waitFor(t, func() bool {
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
}

func TestRunnerDeadLetters(t *testing.T) {
	env := bustest.Start(t)
	reg := prometheus.NewRegistry()
	startRunner(t, env, runner.Options{Metrics: reg})
	ce := "application/cloudevents+json"
	cases := []struct {
		name    string
		subject string
		hdr     map[string]string
		body    string
		kind    accept.Kind
		field   string
		reason  string
		tenant  string
	}{
		{"malformed JSON", "er.raw.acme", map[string]string{"Content-Type": ce}, `{"specversion":"1.0",`, accept.KindMalformed, "body", "invalid JSON at offset", "acme"},
		{"not JSON", "er.raw.acme", nil, `hello`, accept.KindMalformed, "body", "not valid JSON", "acme"},
		{"missing id", "er.raw.acme", map[string]string{"Content-Type": ce}, strings.Replace(structured, `"id":"s-1",`, "", 1), accept.KindAttribute, "id", "required", "acme"},
		{"bad specversion", "er.raw.acme", nil, strings.Replace(structured, `"1.0"`, `"0.3"`, 1), accept.KindAttribute, "specversion", `must be "1.0", got "0.3"`, "acme"},
		{"specversion not a string", "er.raw.acme", nil, strings.Replace(structured, `"1.0"`, `1`, 1), accept.KindAttribute, "specversion", "must be a string", "acme"},
		{"unknown type", "er.raw.acme", nil, strings.Replace(structured, "order.created", "refund.issued", 1), accept.KindUnknownType, "type", `unknown event type "com.acme.refund.issued"`, "acme"},
		{"unknown dataschema version", "er.raw.acme", nil, strings.Replace(structured, `"data":`, `"dataschema":"com.acme.order.created/v7","data":`, 1), accept.KindUnknownSchema, "dataschema", "unknown schema com.acme.order.created/v7", "acme"},
		{"schema-invalid data", "er.raw.acme", nil, strings.Replace(structured, `"amount":42`, `"amount":-1`, 1), accept.KindInvalidData, "data.$.amount", "must be >= 0, got -1", "acme"},
		{"raw JSON without a type", "er.raw.acme", nil, `{"id":"x","amount":1}`, accept.KindAttribute, "type", "needs a type", "acme"},
		{"raw JSON, invalid data", "er.raw.acme", map[string]string{"ce-type": runnertest.OrderType}, `{"amount":1}`, accept.KindInvalidData, "data.$.id", "$.id: is required", "acme"},
		{"invalid tenant in subject", "er.raw.Acme", nil, structured, accept.KindTenant, "subject", `tenantid "Acme"`, "_invalid"},
		{"tenant mismatch", "er.raw.acme", nil, strings.Replace(structured, `"data":`, `"tenantid":"globex","data":`, 1), accept.KindTenant, "tenantid", `names tenant "globex"`, "acme"},
	}
	for i, tc := range cases {
		hdr := map[string]string{"X-Case": tc.name}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		_ = i
		publishRaw(t, env, tc.subject, hdr, tc.body)
	}
	msgs := env.Messages(t, bus.StreamDLQ, "", len(cases), 10*time.Second)
	if len(msgs) != len(cases) {
		t.Fatalf("DLQ got %d messages, want %d", len(msgs), len(cases))
	}
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
		h := m.Header
		if m.Subject != "er.dlq."+tc.tenant || h.Get(bus.HeaderDLQStage) != "runner" || h.Get(bus.HeaderDLQKind) != string(tc.kind) ||
			h.Get(bus.HeaderDLQField) != tc.field || !strings.Contains(h.Get(bus.HeaderDLQReason), tc.reason) {
			t.Errorf("%s: subject %s stage %q kind %q field %q reason %q\nwant kind %q field %q reason containing %q",
				tc.name, m.Subject, h.Get(bus.HeaderDLQStage), h.Get(bus.HeaderDLQKind), h.Get(bus.HeaderDLQField), h.Get(bus.HeaderDLQReason), tc.kind, tc.field, tc.reason)
		}
		if string(m.Data) != tc.body || h.Get(bus.HeaderDLQSubject) != tc.subject || h.Get(bus.HeaderDLQStream) != bus.StreamRaw || h.Get(bus.HeaderDLQSeq) == "" {
			t.Errorf("%s: the dead letter does not carry the original: body %q subject %q stream %q seq %q", tc.name, m.Data, h.Get(bus.HeaderDLQSubject), h.Get(bus.HeaderDLQStream), h.Get(bus.HeaderDLQSeq))
		}
	}
	if n := env.Count(t, bus.StreamProc, ""); n != 0 {
		t.Errorf("ER_PROC has %d messages", n)
	}
	waitFor(t, func() bool {
		return metricValue(t, reg, "eventrunner_runner_events_total", "dlq") == float64(len(cases))
	})
	if v := metricValue(t, reg, "eventrunner_runner_dlq_events_total", "invalid-data"); v != 2 {
		t.Errorf("dlq{kind=invalid-data} = %v, want 2", v)
	}
}

// A publish to ER_PROC that keeps failing dead-letters the event on its
// last delivery, with the publish error as the reason.
func TestRunnerPublishFailureDeadLetters(t *testing.T) {
	env := bustest.Start(t)
	if err := env.JS.DeleteStream(context.Background(), bus.StreamProc); err != nil {
		t.Fatal(err)
	}
	startRunner(t, env, runner.Options{MaxDeliver: 2, AckWait: 5 * time.Second, // long enough that a slow CI machine never lets the last delivery expire into a max-deliver advisory
		Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{Attempts: 1, RetryWait: time.Millisecond})})
	publishRaw(t, env, "er.raw.acme", nil, structured)
	msgs := env.Messages(t, bus.StreamDLQ, "", 1, 20*time.Second)
	if len(msgs) != 1 {
		t.Fatal("the event was not dead-lettered")
	}
	h := msgs[0].Header
	if h.Get(bus.HeaderDLQKind) != "publish-failed" || !strings.Contains(h.Get(bus.HeaderDLQReason), "er.proc.acme.com.acme.order.created") || h.Get(bus.HeaderDLQDeliveries) != "2" {
		t.Errorf("dead letter headers %v", h)
	}
}

func TestAcceptor(t *testing.T) {
	env := bustest.Start(t)
	reg := runnertest.Registry()
	a := &accept.Acceptor{Normalizer: accept.NewNormalizer(reg, ""), Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{})}
	evs := []*cloudevents.Event{
		order(nil),
		order(func(e *cloudevents.Event) { e.ID = "o-2"; e.Data = json.RawMessage(`{"id":"o-2","amount":-3}`) }),
		order(func(e *cloudevents.Event) { e.ID = "o-3" }),
		order(nil), // a retry of the first: deduplicated
	}
	out := a.Accept(context.Background(), "acme", evs)
	var e *accept.Error
	if out[0] != nil || !errors.As(out[1], &e) || e.Field != "data.$.amount" || out[2] != nil || out[3] != nil {
		t.Fatalf("Accept = %v", out)
	}
	var ids []string
	for _, pe := range env.ProcEvents(t, 2, 5*time.Second) {
		ev, err := cloudevents.ParseStructured(pe.Data)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID+" "+pe.Schema)
	}
	if v2 := runnertest.OrderV2.ID; strings.Join(ids, ",") != "o-1 "+v2+",o-3 "+v2 {
		t.Fatalf("ER_PROC holds %v, want o-1 and o-3 once each", ids)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricValue returns the counter series of a registry with the given
// name and label value (0 when absent).
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
