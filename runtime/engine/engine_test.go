package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
)

type fixture struct {
	env   *bustest.Env
	store *pebble.Store
	reg   *rules.Registry
	acc   *accept.Acceptor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := bustest.Start(t)
	st, err := pebble.Open(t.TempDir(), pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	reg := runnertest.Registry()
	return &fixture{env: env, store: st, reg: reg,
		acc: &accept.Acceptor{Normalizer: accept.NewNormalizer(reg, ""), Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{})}}
}

// start runs an engine until the returned stop is called (or the test ends).
func (f *fixture) start(t *testing.T, opts engine.Options) (*engine.Engine, func()) {
	t.Helper()
	opts.Registry, opts.Store = f.reg, f.store
	if opts.MaxWait == 0 {
		opts.MaxWait = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := engine.New(ctx, f.env.JS, opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = e.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return e, stop
}

// send publishes orders (data JSON by id) to ER_PROC through the Acceptor,
// bound to schema v1 (where the test knowledge bases are).
func (f *fixture) send(t *testing.T, schema string, data map[string]string) {
	t.Helper()
	var evs []*cloudevents.Event
	for id, d := range data {
		evs = append(evs, &cloudevents.Event{SpecVersion: "1.0", ID: id, Source: "/shop", Type: runnertest.OrderType,
			Time: "2024-03-04T05:06:07Z", DataSchema: schema, Data: json.RawMessage(d)})
	}
	for i, err := range f.acc.Accept(context.Background(), "acme", evs) {
		if err != nil {
			t.Fatalf("accept %s: %v", evs[i].ID, err)
		}
	}
}

func (f *fixture) get(t *testing.T, id string) map[string]json.RawMessage {
	t.Helper()
	var rec store.Record
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		rec, err = f.store.Get(context.Background(), "acme", "/shop", id)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s not stored: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec.Type != runnertest.OrderType || !strings.HasPrefix(rec.SchemaID, runnertest.OrderType+"/v") || !rec.Time.Equal(time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)) || rec.Source != "/shop" {
		t.Errorf("record %s: %+v", id, rec)
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(rec.Event, &ev); err != nil {
		t.Fatalf("stored event %s: %v: %s", id, err, rec.Event)
	}
	if _, err := cloudevents.ParseStructured(rec.Event); err != nil {
		t.Errorf("stored event %s is not a valid CloudEvent: %v", id, err)
	}
	return ev
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func TestEngineProcesses(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	e, _ := f.start(t, engine.Options{Metrics: reg})
	f.send(t, "com.acme.order.created/v1", map[string]string{
		"plain": `{"id":"o1","amount":10}`,
		"vip":   `{"id":"o2","amount":10,"customer":"vip-7"}`,
		"big":   `{"id":"o3","amount":5000}`,
		"drop":  `{"id":"o4","amount":1,"status":"drop"}`,
		"loop":  `{"id":"o5","amount":1,"status":"loop"}`,
		"boom":  `{"id":"o6","amount":1,"status":"boom"}`,
	})
	// Schema v2: no knowledge base bound, processed as is.
	f.send(t, "", map[string]string{"v2": `{"id":"o7","amount":3,"currency":"EUR"}`})

	plain := f.get(t, "plain")
	if string(plain["data"]) != `{"id":"o1","amount":10}` || str(plain["erkb"]) != "a-enrich@1.0.0,b-route@2.1.0" ||
		str(plain["erbundle"]) != "bundle-test" || plain["erfired"] != nil || string(plain["erdropped"]) != "false" || str(plain["tenantid"]) != "acme" {
		t.Errorf("plain: %s", mustJSON(plain))
	}
	if vip := f.get(t, "vip"); str(vip["erfired"]) != "VIP" || str(vip["ertags"]) != "vip" {
		t.Errorf("vip: %s", mustJSON(vip))
	}
	// b-route runs after a-enrich and sees its change.
	big := f.get(t, "big")
	if string(big["data"]) != `{"id":"o3","amount":5000,"status":"routed"}` || str(big["erfired"]) != "BigOrder,ReviewToOps" ||
		str(big["ertags"]) != "big" || str(big["erroute"]) != "ops" {
		t.Errorf("big: %s", mustJSON(big))
	}
	// The record keeps the data as it arrived, before the rules changed it.
	if rec, err := f.store.Get(context.Background(), "acme", "/shop", "big"); err != nil || string(rec.Input) != `{"id":"o3","amount":5000}` {
		t.Errorf("big: stored input %s (%v), want the data as sent", rec.Input, err)
	}
	if drop := f.get(t, "drop"); string(drop["erdropped"]) != "true" || str(drop["erfired"]) != "DropTest" {
		t.Errorf("drop: %s", mustJSON(drop))
	}
	if v2 := f.get(t, "v2"); v2["erkb"] != nil || string(v2["data"]) != `{"id":"o7","amount":3,"currency":"EUR"}` {
		t.Errorf("v2: %s", mustJSON(v2))
	}
	// Published: everything stored but the dropped event.
	pub := f.env.Messages(t, bustest.TenantStream, "er.t."+bustest.Tenant+".>", 4, 10*time.Second) // not its dead letters, sourced from ER_DLQ
	if len(pub) != 4 {
		t.Fatalf("the tenant stream holds %d events, want 4", len(pub))
	}
	for _, m := range pub {
		ev, err := cloudevents.ParseStructured(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "er.t.acme.com.acme.order.created" || m.Header.Get(bus.HeaderMsgID) != "acme//shop/"+ev.ID || m.Header.Get(bus.HeaderIngestTime) == "" {
			t.Errorf("tenant message %s %v", m.Subject, m.Header)
		}
		if ev.ID == "drop" {
			t.Error("the dropped event was published")
		}
	}
	// Rule failures are dead-lettered with the knowledge base and rule.
	dlq := f.env.Messages(t, bus.StreamDLQ, "", 2, 10*time.Second)
	if len(dlq) != 2 {
		t.Fatalf("DLQ holds %d, want 2", len(dlq))
	}
	want := map[string][3]string{
		"max-cycles": {"a-enrich", "knowledge base a-enrich@1.0.0: the GruleEngine successfully selected rule candidate for execution after 50 cycles", "loop"},
		"rule-error": {"a-enrich.Boom", "knowledge base a-enrich@1.0.0: error while executing rule Boom. got index out of range", "boom"},
	}
	for _, m := range dlq {
		h := m.Header
		w, ok := want[h.Get(bus.HeaderDLQKind)]
		if !ok || h.Get(bus.HeaderDLQField) != w[0] || !strings.HasPrefix(h.Get(bus.HeaderDLQReason), w[1]) || h.Get(bus.HeaderDLQStage) != "engine" ||
			m.Subject != "er.dlq.acme" || !strings.Contains(string(m.Data), `"id":"`+w[2]+`"`) {
			t.Errorf("dead letter %s %v", m.Subject, h)
		}
		if recs, err := f.store.Lookup(context.Background(), "acme", w[2], 0); err != nil || len(recs) != 0 {
			t.Errorf("dead-lettered event %s was stored (%d records, %v)", w[2], len(recs), err)
		}
	}
	// Everything acked: the work queue is empty.
	waitFor(t, func() bool { return f.env.Count(t, bus.StreamProc, "") == 0 })
	// Metrics.
	waitFor(t, func() bool { return metricValue(t, reg, "eventrunner_engine_events_total", "processed") == 4 })
	for name, want := range map[string]float64{
		"eventrunner_engine_events_total/dropped":        1,
		"eventrunner_engine_events_total/dlq":            2,
		"eventrunner_engine_dlq_events_total/rule-error": 1,
		"eventrunner_rule_firings_total/ReviewToOps":     1,
		"eventrunner_rule_firings_total/Loop":            50,
	} {
		n, label, _ := strings.Cut(name, "/")
		if got := metricValue(t, reg, n, label); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if !hasMetric(t, reg, "eventrunner_ingest_to_stored_seconds") || !hasMetric(t, reg, "eventrunner_consumer_pending_messages") {
		t.Error("latency or lag metrics missing")
	}
	// The same firings, per tenant (the console's GET /v1/kbs).
	fir := e.Firings(bustest.Tenant)
	if fir["b-route"]["ReviewToOps"] != 1 || fir["a-enrich"]["Loop"] != 50 || fir["a-enrich"]["VIP"] != 1 {
		t.Errorf("firings of %s: %v", bustest.Tenant, fir)
	}
	if other := e.Firings("other"); len(other) != 0 {
		t.Errorf("firings of a tenant that sent nothing: %v", other)
	}
}

func TestSwapRules(t *testing.T) {
	f := newFixture(t)
	// The old rules block inside Execute until released, so that the swap
	// happens while an event is in flight.
	entered, release := make(chan struct{}), make(chan struct{})
	old := engine.NewRuleSet("old", []rules.KnowledgeBase{&blockingKB{KnowledgeBase: runnertest.Enrich("com.acme.order.created/v1"), entered: entered, release: release}})
	e, _ := f.start(t, engine.Options{Rules: old, Workers: 1})
	f.send(t, "com.acme.order.created/v1", map[string]string{"first": `{"id":"a","amount":5000}`})
	<-entered
	newSet := engine.NewRuleSet("new", []rules.KnowledgeBase{runnertest.Route("com.acme.order.created/v1")})
	if prev := e.SwapRules(newSet); prev != old || e.Rules() != newSet {
		t.Fatal("SwapRules did not return the old set / install the new one")
	}
	close(release)
	first := f.get(t, "first")
	if str(first["erbundle"]) != "old" || str(first["erfired"]) != "BigOrder" || str(first["erkb"]) != "a-enrich@1.0.0" {
		t.Errorf("in-flight event did not finish on the old rules: %s", mustJSON(first))
	}
	f.send(t, "com.acme.order.created/v1", map[string]string{"second": `{"id":"b","amount":5000,"status":"review"}`})
	second := f.get(t, "second")
	if str(second["erbundle"]) != "new" || str(second["erfired"]) != "ReviewToOps" || str(second["erkb"]) != "b-route@2.1.0" {
		t.Errorf("event after the swap did not use the new rules: %s", mustJSON(second))
	}
}

type blockingKB struct {
	rules.KnowledgeBase
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingKB) Execute(x *rules.Exec, f rules.Fact) error {
	b.once.Do(func() { close(b.entered); <-b.release })
	return b.KnowledgeBase.Execute(x, f)
}

// Stopping the engine mid-load loses nothing and duplicates nothing: what
// was stored was acked, the rest is processed by the next engine.
func TestGracefulStopAndRestart(t *testing.T) {
	f := newFixture(t)
	const n = 3000
	for i := 0; i < n; i += 500 {
		batch := map[string]string{}
		for j := i; j < i+500; j++ {
			batch[fmt.Sprintf("e%05d", j)] = fmt.Sprintf(`{"id":"o%d","amount":%d}`, j, j%2000)
		}
		f.send(t, "com.acme.order.created/v1", batch)
	}
	_, stop := f.start(t, engine.Options{Batch: 64})
	waitFor(t, func() bool { return f.env.Count(t, bustest.TenantStream, "") > 200 })
	stop()
	stoppedAt := f.env.Count(t, bustest.TenantStream, "")
	t.Logf("stopped after %d of %d events", stoppedAt, n)
	// A second engine (same durable consumer) finishes the job.
	f.start(t, engine.Options{Batch: 64, AckWait: time.Second})
	waitFor(t, func() bool {
		return f.env.Count(t, bus.StreamProc, "") == 0 && f.env.Count(t, bustest.TenantStream, "") >= n
	})
	time.Sleep(200 * time.Millisecond)
	if got := f.env.Count(t, bustest.TenantStream, ""); got != n {
		t.Fatalf("the tenant stream holds %d events, want exactly %d", got, n)
	}
	page, err := f.store.List(context.Background(), store.Query{Tenant: "acme", Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	count := len(page.Records)
	for page.NextCursor != "" {
		page, err = f.store.List(context.Background(), store.Query{Tenant: "acme", Limit: store.MaxLimit, Cursor: page.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.Records)
	}
	if count != n {
		t.Fatalf("store holds %d events, want %d", count, n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func hasMetric(t *testing.T, reg *prometheus.Registry, name string) bool {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return true
		}
	}
	return false
}

// TestEngineValidatesUnvouchedEvents: ingest and the runner name the schema
// they validated against (Er-Schema) and the engine trusts it; an event on
// ER_PROC without it is validated by the engine, and dead-lettered when
// invalid.
func TestEngineValidatesUnvouchedEvents(t *testing.T) {
	f := newFixture(t)
	f.start(t, engine.Options{})
	for id, data := range map[string]string{"neg": `{"id":"o1","amount":-5}`, "ok": `{"id":"o2","amount":5}`} {
		m := nats.NewMsg("er.proc.acme." + runnertest.OrderType)
		m.Header.Set(bus.HeaderMsgID, "acme//shop/"+id)
		m.Data = []byte(`{"specversion":"1.0","id":"` + id + `","source":"/shop","type":"` + runnertest.OrderType +
			`","time":"2024-03-04T05:06:07Z","dataschema":"` + runnertest.OrderType + `/v1","data":` + data + `}`)
		if _, err := f.env.JS.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if ok := f.get(t, "ok"); string(ok["data"]) != `{"id":"o2","amount":5}` {
		t.Errorf("ok: %s", mustJSON(ok))
	}
	dlq := f.env.Messages(t, bus.StreamDLQ, "", 1, 10*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("DLQ holds %d, want 1", len(dlq))
	}
	if h := dlq[0].Header; h.Get(bus.HeaderDLQKind) != "invalid-data" || h.Get(bus.HeaderDLQField) != "data.$.amount" {
		t.Errorf("dead letter %v", h)
	}
}

// TestProcessedDataschema: with a SchemaBase, the stored and the published
// processed event carry the canonical URL of the version the event was
// decoded as, whatever dataschema it came with (short form, none, another
// base on a message without Er-Schema).
func TestProcessedDataschema(t *testing.T) {
	const base = "https://events.acme.com"
	f := newFixture(t)
	f.start(t, engine.Options{SchemaBase: base})
	f.send(t, runnertest.OrderType+"/v1", map[string]string{"short": `{"id":"o1","amount":1}`})
	f.send(t, "", map[string]string{"none": `{"id":"o2","amount":2}`})
	m := nats.NewMsg("er.proc.acme." + runnertest.OrderType)
	m.Header.Set(bus.HeaderMsgID, "acme//shop/other")
	m.Data = []byte(`{"specversion":"1.0","id":"other","source":"/shop","type":"` + runnertest.OrderType +
		`","time":"2024-03-04T05:06:07Z","dataschema":"http://10.1.2.3:8080/v1/schemas/` + runnertest.OrderType + `/v1","data":{"id":"o3","amount":3}}`)
	if _, err := f.env.JS.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"short": base + "/v1/schemas/" + runnertest.OrderType + "/v1",
		"none":  base + "/v1/schemas/" + runnertest.OrderType + "/v2",
		"other": base + "/v1/schemas/" + runnertest.OrderType + "/v1",
	}
	for id, url := range want {
		if got := str(f.get(t, id)["dataschema"]); got != url {
			t.Errorf("stored %s: dataschema %q, want %q", id, got, url)
		}
	}
	pub := f.env.Messages(t, bustest.TenantStream, "er.t."+bustest.Tenant+".>", len(want), 10*time.Second)
	if len(pub) != len(want) {
		t.Fatalf("the tenant stream holds %d events, want %d", len(pub), len(want))
	}
	for _, m := range pub {
		ev, err := cloudevents.ParseStructured(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DataSchema != want[ev.ID] {
			t.Errorf("published %s: dataschema %q, want %q", ev.ID, ev.DataSchema, want[ev.ID])
		}
	}
}

// The events of one envelope meet different fates: each good one is stored
// and published, each bad one gets a dead letter of its own naming its part,
// and the envelope is acked once.
func TestEnvelopeEventsSettleOneByOne(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	f.start(t, engine.Options{Metrics: reg})
	good := func(id string) []byte {
		return []byte(fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/shop","type":%q,"time":"2024-03-04T05:06:07Z","data":{"id":%q,"amount":5}}`,
			id, runnertest.OrderType, id))
	}
	v1 := runnertest.OrderV1.ID
	var body []byte
	body = bus.AppendEnvelopeEntry(body, v1, good("env-1"))
	body = bus.AppendEnvelopeEntry(body, v1, []byte(`{"specversion":`))
	body = bus.AppendEnvelopeEntry(body, v1, []byte(strings.Replace(string(good("env-3")), `"data"`, `"tenantid":"globex","data"`, 1)))
	body = bus.AppendEnvelopeEntry(body, v1, good("env-4"))
	m := nats.NewMsg("er.proc.acme")
	m.Header.Set(bus.HeaderContentType, bus.ContentTypeEnvelope)
	m.Header.Set(bus.HeaderTenant, "acme")
	m.Data = body
	if _, err := f.env.JS.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	f.get(t, "env-1")
	f.get(t, "env-4")
	dlq := f.env.Messages(t, bus.StreamDLQ, "", 2, 10*time.Second)
	if len(dlq) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dlq))
	}
	kinds := map[string]string{}
	for _, d := range dlq {
		kinds[d.Header.Get(bus.HeaderDLQPart)] = d.Header.Get(bus.HeaderDLQKind)
	}
	if kinds["2"] != "malformed" || kinds["3"] != "tenant" {
		t.Errorf("dead letters by part: %v, want 2 malformed and 3 tenant", kinds)
	}
	// Only the processed events: the tenant stream also sources the tenant's
	// dead letters from ER_DLQ, which arrive there at their own pace.
	processed, _ := bus.TenantFilter(bustest.Tenant)
	if n := len(f.env.Messages(t, bustest.TenantStream, processed, 2, 10*time.Second)); n != 2 {
		t.Errorf("the tenant stream holds %d processed events, want 2", n)
	}
	waitFor(t, func() bool { return f.env.Count(t, bus.StreamProc, "") == 0 })
	if v := metricValue(t, reg, "eventrunner_engine_events_total", "processed"); v != 2 {
		t.Errorf("processed = %v, want 2", v)
	}
}
