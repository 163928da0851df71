package dlq_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/dlq"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// other is the second tenant of the isolation tests.
const other = "beta"

// fixture is a real NATS with a runner of an old bundle (Order v1 only)
// that dead-letters what it cannot validate, and a DLQ whose acceptor has
// the deployed bundle (v1 and v2).
type fixture struct {
	env  *bustest.Env
	dlq  *dlq.DLQ
	opts dlq.Options // dlq's, for a test that opens another with other options
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := bustest.Start(t)
	env.EnsureTenant(t, other)
	ctx, cancel := context.WithCancel(context.Background())
	old := rules.MustRegistry("bundle-old", []*rules.Schema{runnertest.OrderV1}, nil)
	r, err := runner.New(ctx, env.JS, runner.Options{Registry: old, MaxWait: 100 * time.Millisecond, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
	acc := &accept.Acceptor{Normalizer: accept.NewNormalizer(runnertest.Registry(), ""), Publisher: pub}
	opts := dlq.Options{Acceptor: acc, Publisher: pub, ReadRaw: r.Event}
	d, err := dlq.Open(ctx, env.JS, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, dlq: d, opts: opts}
}

func (f *fixture) publish(t *testing.T, subject string, hdr nats.Header, body string) {
	t.Helper()
	m := &nats.Msg{Subject: subject, Header: hdr, Data: []byte(body)}
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := f.env.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// deadLetters waits for n dead letters of tenant and returns them by event id.
func (f *fixture) deadLetters(t *testing.T, tenant string, n int) map[string]*dlq.DeadLetter {
	t.Helper()
	f.env.Messages(t, bus.StreamDLQ, bus.DLQSubject(tenant), n, 10*time.Second)
	p, err := f.dlq.List(context.Background(), tenant, dlq.Filter{}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.DeadLetters) != n {
		t.Fatalf("%d dead letters of %s, want %d", len(p.DeadLetters), tenant, n)
	}
	out := map[string]*dlq.DeadLetter{}
	for _, dl := range p.DeadLetters {
		out[dl.Event.ID] = dl
	}
	return out
}

const (
	v2Event      = `{"specversion":"1.0","id":"r-1","source":"/shop","type":"com.acme.order.created","dataschema":"com.acme.order.created/v2","data":{"id":"o-1","amount":42,"currency":"EUR"}}`
	invalidEvent = `{"specversion":"1.0","id":"bad-1","source":"/shop","type":"com.acme.order.created","data":{"id":"o-2","amount":-1}}`
	rawV2Data    = `{"id":"o-3","amount":7,"currency":"USD"}`
)

// seed dead-letters three events through the old runner: a structured
// event and raw JSON naming v2, which the deploy fixes, and one invalid
// under every version.
func (f *fixture) seed(t *testing.T) map[string]*dlq.DeadLetter {
	t.Helper()
	ce := nats.Header{"Content-Type": {bus.ContentTypeCloudEvents}}
	f.publish(t, "er.raw.acme", ce, v2Event)
	f.publish(t, "er.raw.acme", ce, invalidEvent)
	f.publish(t, "er.raw.acme."+runnertest.OrderType, nats.Header{"Nats-Msg-Id": {"raw-1"}, "ce-dataschema": {runnertest.OrderType + "/v2"}}, rawV2Data)
	dls := f.deadLetters(t, bustest.Tenant, 3)
	for id, kind := range map[string]string{"r-1": "unknown-schema", "bad-1": "invalid-data", "raw-1": "unknown-schema"} {
		if dl := dls[id]; dl == nil || dl.Kind != kind || dl.Stage != "runner" || dl.Redriven != nil {
			t.Fatalf("dead letter of %s: %+v, want kind %s", id, dl, kind)
		}
	}
	return dls
}

// procIDs is every event identity on ER_PROC, with how often it is there.
func procIDs(t *testing.T, env *bustest.Env, want int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, pe := range env.ProcEvents(t, want, 10*time.Second) {
		var ev cloudevents.Event
		if err := cloudevents.Parse(pe.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out[bus.MsgID(ev.TenantID, ev.Source, ev.ID)]++
	}
	return out
}

// TestDLQRedriveAfterSchemaDeploy: dead letters of a bundle without v2 are
// redriven under one with it. The fixed ones (structured, raw JSON) are
// accepted with their identities, the invalid one is rejected with a new
// dead letter that names it; a second redrive repeats the identities and
// leaves no third dead letter; a filter selects only the never redriven.
func TestDLQRedriveAfterSchemaDeploy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dls := f.seed(t)
	if raw := dls["raw-1"]; raw.Event.Source != "nats:er.raw.acme."+runnertest.OrderType || raw.Event.Type != runnertest.OrderType || string(raw.Data) != rawV2Data {
		t.Errorf("raw JSON dead letter read as %+v, data %s", raw.Event, raw.Data)
	}

	rep, err := f.dlq.Redrive(ctx, bustest.Tenant, dlq.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 2 || rep.Rejected != 1 || len(rep.Results) != 3 {
		t.Fatalf("report %+v", rep)
	}
	got := procIDs(t, f.env, 2)
	if len(got) != 2 || got["acme//shop/r-1"] != 1 || got["acme/nats:er.raw.acme."+runnertest.OrderType+"/raw-1"] != 1 {
		t.Fatalf("ER_PROC holds %v, want r-1 and raw-1 with their identities", got)
	}

	// Marked: accepted ones with the outcome, the rejected one with its
	// new dead letter, which names it.
	for _, res := range rep.Results {
		dl, err := f.dlq.Get(ctx, bustest.Tenant, res.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if dl.Redriven == nil || dl.Redriven.Outcome != res.Outcome || dl.Redriven.Count != 1 {
			t.Errorf("seq %d: marker %+v after result %+v", res.Seq, dl.Redriven, res)
		}
		if res.ID != "bad-1" {
			continue
		}
		if res.Outcome != dlq.OutcomeRejected || res.Kind != string(accept.KindInvalidData) || res.DeadLetter == 0 || dl.Redriven.DeadLetter != res.DeadLetter {
			t.Fatalf("bad-1: %+v", res)
		}
		again, err := f.dlq.Get(ctx, bustest.Tenant, res.DeadLetter)
		if err != nil {
			t.Fatal(err)
		}
		if again.RedriveOf != res.Seq || again.Stage != dlq.Stage || again.Kind != string(accept.KindInvalidData) || again.Event.ID != "bad-1" || again.Redriven != nil {
			t.Errorf("the rejected redrive's dead letter: %+v", again)
		}
	}

	// Twice: the same identities (nothing new on ER_PROC but repeats of
	// them), counts go up, and the rejected one leaves no third dead letter.
	seqs := []uint64{dls["r-1"].Seq, dls["raw-1"].Seq, dls["bad-1"].Seq}
	rep2, err := f.dlq.Redrive(ctx, bustest.Tenant, dlq.Selection{Seqs: seqs})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Accepted != 2 || rep2.Rejected != 1 {
		t.Fatalf("second report %+v", rep2)
	}
	for id := range procIDs(t, f.env, 2) {
		if id != "acme//shop/r-1" && id != "acme/nats:er.raw.acme."+runnertest.OrderType+"/raw-1" {
			t.Errorf("a second redrive put %s on ER_PROC", id)
		}
	}
	if n := f.env.Count(t, bus.StreamDLQ, bus.DLQSubject(bustest.Tenant)); n != 4 {
		t.Errorf("ER_DLQ holds %d dead letters of acme, want 4 (three and one rejected redrive)", n)
	}
	dl, _ := f.dlq.Get(ctx, bustest.Tenant, dls["r-1"].Seq)
	if dl.Redriven.Count != 2 {
		t.Errorf("marker after two redrives: %+v", dl.Redriven)
	}

	// A filter selects what was never redriven: the new dead letter only.
	rep3, err := f.dlq.Redrive(ctx, bustest.Tenant, dlq.Selection{Filter: dlq.Filter{Kind: string(accept.KindInvalidData)}})
	if err != nil {
		t.Fatal(err)
	}
	var successor uint64
	for _, res := range rep.Results {
		successor = max(successor, res.DeadLetter)
	}
	if len(rep3.Results) != 1 || rep3.Results[0].Seq != successor {
		t.Errorf("filter redrive: %+v, want only the rejected redrive's dead letter %d", rep3, successor)
	}
}

// TestDLQRedriveEngineDeadLetter redrives what the engine refused (a
// structured CloudEvent from ER_PROC), and refuses a WASM consumer's
// dead letter without leaving another.
func TestDLQRedriveEngineDeadLetter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev := `{"specversion":"1.0","id":"e-1","source":"/shop","type":"com.acme.order.created","tenantid":"acme","data":{"id":"o-1","amount":42}}`
	h := nats.Header{"Content-Type": {bus.ContentTypeCloudEvents}, bus.HeaderSchema: {runnertest.OrderV1.ID}, bus.HeaderMsgID: {"acme//shop/e-1"}}
	for _, stage := range []string{"engine", "wasm:audit"} {
		m := bus.DLQMsg(bustest.Tenant, bus.Origin{Subject: "er.proc.acme." + runnertest.OrderType, Header: h, Data: []byte(ev), Stream: bus.StreamProc, Seq: 7},
			bus.Rejection{Stage: stage, Kind: "rule-error", Reason: "boom"})
		m.Header.Set(bus.HeaderMsgID, "test/"+stage)
		if _, err := f.env.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	f.deadLetters(t, bustest.Tenant, 2)
	rep, err := f.dlq.Redrive(ctx, bustest.Tenant, dlq.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Outcome != dlq.OutcomeAccepted || rep.Results[1].Kind != dlq.KindNotRedrivable || rep.Results[1].DeadLetter != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := procIDs(t, f.env, 1); len(got) != 1 || got["acme//shop/e-1"] != 1 {
		t.Errorf("ER_PROC holds %v", got)
	}
	if n := f.env.Count(t, bus.StreamDLQ, ""); n != 2 {
		t.Errorf("ER_DLQ holds %d, want the 2 dead letters and no new one", n)
	}
}

// TestDLQListFiltersAndPages: each filter, and pages that follow on.
func TestDLQListFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dls := f.seed(t)
	p, err := f.dlq.List(ctx, bustest.Tenant, dlq.Filter{Kind: "unknown-schema"}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.DeadLetters) != 1 || p.Next == nil || *p.Next != p.DeadLetters[0].Seq {
		t.Fatalf("first page %+v", p)
	}
	p2, err := f.dlq.List(ctx, bustest.Tenant, dlq.Filter{Kind: "unknown-schema"}, *p.Next, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.DeadLetters) != 1 || p2.Next != nil || p2.DeadLetters[0].Kind != "unknown-schema" || p2.DeadLetters[0].Seq <= *p.Next {
		t.Fatalf("second page %+v", p2)
	}
	for _, tt := range []struct {
		name string
		f    dlq.Filter
		want int
	}{
		{"by id", dlq.Filter{ID: "bad-1"}, 1},
		{"by source", dlq.Filter{Source: "/shop"}, 2},
		{"by type", dlq.Filter{Type: runnertest.OrderType}, 3},
		{"since later", dlq.Filter{Since: time.Now().Add(time.Hour)}, 0},
		{"until earlier", dlq.Filter{Until: time.Now().Add(-time.Hour)}, 0},
		{"within", dlq.Filter{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}, 3},
		{"redriven", dlq.Filter{Redriven: new(true)}, 0},
	} {
		p, err := f.dlq.List(ctx, bustest.Tenant, tt.f, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.DeadLetters) != tt.want || p.Next != nil {
			t.Errorf("%s: %d dead letters (next %v), want %d", tt.name, len(p.DeadLetters), p.Next, tt.want)
		}
	}
	if dls["bad-1"].Field != "data.$.amount" || dls["bad-1"].ContentType != bus.ContentTypeCloudEvents || dls["bad-1"].Reason == "" {
		t.Errorf("dead letter fields: %+v", dls["bad-1"])
	}
}

// TestDLQPurge: by filter (the redriven) and by seqs; nothing without a selection.
func TestDLQPurge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dls := f.seed(t)
	if _, err := f.dlq.Redrive(ctx, bustest.Tenant, dlq.Selection{Seqs: []uint64{dls["r-1"].Seq}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dlq.Purge(ctx, bustest.Tenant, dlq.Selection{}); err == nil {
		t.Fatal("a purge without a selection went through")
	}
	n, err := f.dlq.Purge(ctx, bustest.Tenant, dlq.Selection{Filter: dlq.Filter{Redriven: new(true)}})
	if err != nil || n != 1 {
		t.Fatalf("purge of the redriven: %d, %v", n, err)
	}
	if _, err := f.dlq.Get(ctx, bustest.Tenant, dls["r-1"].Seq); err == nil {
		t.Error("the purged dead letter is still there")
	}
	n, err = f.dlq.Purge(ctx, bustest.Tenant, dlq.Selection{Seqs: []uint64{dls["bad-1"].Seq, dls["raw-1"].Seq}})
	if err != nil || n != 2 {
		t.Fatalf("purge by seqs: %d, %v", n, err)
	}
	if n := f.env.Count(t, bus.StreamDLQ, ""); n != 0 {
		t.Errorf("ER_DLQ holds %d after purging everything", n)
	}
}

// TestDLQTenantIsolation: another tenant cannot list, show, redrive or purge
// a tenant's dead letters; its seqs are not found.
func TestDLQTenantIsolation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dls := f.seed(t)
	seq := dls["r-1"].Seq
	p, err := f.dlq.List(ctx, other, dlq.Filter{}, 0, 100)
	if err != nil || len(p.DeadLetters) != 0 {
		t.Fatalf("%s lists %+v (%v)", other, p, err)
	}
	if _, err := f.dlq.Get(ctx, other, seq); !isNotFound(err) {
		t.Errorf("%s shows seq %d: %v", other, seq, err)
	}
	if _, err := f.dlq.Redrive(ctx, other, dlq.Selection{Seqs: []uint64{seq}}); !isNotFound(err) {
		t.Errorf("%s redrives seq %d: %v", other, seq, err)
	}
	if rep, err := f.dlq.Redrive(ctx, other, dlq.Selection{All: true}); err != nil || len(rep.Results) != 0 {
		t.Errorf("%s redrives all: %+v, %v", other, rep, err)
	}
	if _, err := f.dlq.Purge(ctx, other, dlq.Selection{Seqs: []uint64{seq}}); !isNotFound(err) {
		t.Errorf("%s purges seq %d: %v", other, seq, err)
	}
	if n, err := f.dlq.Purge(ctx, other, dlq.Selection{All: true}); err != nil || n != 0 {
		t.Errorf("%s purges all: %d, %v", other, n, err)
	}
	if dl, err := f.dlq.Get(ctx, bustest.Tenant, seq); err != nil || dl.Redriven != nil {
		t.Errorf("acme's dead letter after the attempts: %+v, %v", dl, err)
	}
	if n := f.env.Count(t, bus.StreamProc, ""); n != 0 {
		t.Errorf("ER_PROC holds %d", n)
	}
}

func isNotFound(err error) bool { return errors.Is(err, dlq.ErrNotFound) }

// TestDLQRedriveRawJSONKeepsGeneratedID: raw JSON without a Nats-Msg-Id gets
// an id the runner derives from when and where ER_RAW stored it; every
// redrive derives the same one.
func TestDLQRedriveRawJSONKeepsGeneratedID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.publish(t, "er.raw.acme", nats.Header{"ce-type": {runnertest.OrderType}, "ce-dataschema": {runnertest.OrderType + "/v2"}}, rawV2Data)
	var dl *dlq.DeadLetter
	for _, d := range f.deadLetters(t, bustest.Tenant, 1) {
		dl = d
	}
	if dl.Event.ID == "" || dl.Event.Source != "nats:er.raw.acme" {
		t.Fatalf("raw JSON read as %+v", dl.Event)
	}
	for range 2 {
		rep, err := f.dlq.Redrive(ctx, bustest.Tenant, dlq.Selection{Seqs: []uint64{dl.Seq}})
		if err != nil || rep.Accepted != 1 || rep.Results[0].ID != dl.Event.ID {
			t.Fatalf("redrive: %+v, %v", rep, err)
		}
	}
	if got := procIDs(t, f.env, 1); len(got) != 1 || got[bus.MsgID("acme", "nats:er.raw.acme", dl.Event.ID)] == 0 {
		t.Errorf("ER_PROC holds %v, want only %s", got, dl.Event.ID)
	}
}

// TestDLQRedriveChargesIngestRate: a redrive draws on the tenant's ingest
// rate (Options.Limit). Refused, it touches no dead letter and says when
// to come back; allowed, it charges one per event it sends.
func TestDLQRedriveChargesIngestRate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dls := f.seed(t)
	allow, charged := false, map[string]int{}
	opts := f.opts
	opts.Limit = func(tenant string, n int) (time.Duration, bool) {
		if !allow {
			return 1500 * time.Millisecond, false
		}
		charged[tenant] += n
		return 0, true
	}
	d, err := dlq.Open(ctx, f.env.JS, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Redrive(ctx, bustest.Tenant, dlq.Selection{All: true})
	var limited *dlq.RateLimitedError
	if !errors.As(err, &limited) || limited.Done != 0 || limited.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("redrive over the rate: %v, want a RateLimitedError after 0", err)
	}
	for id, dl := range dls {
		if got, err := d.Get(ctx, bustest.Tenant, dl.Seq); err != nil || got.Redriven != nil {
			t.Errorf("%s after a refused redrive: %+v, %v; want it untouched", id, got.Redriven, err)
		}
	}
	// Over HTTP: 429 with Retry-After, as ingest answers.
	f.dlq = d
	srv := newServer(t, f)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/dlq/redrive", strings.NewReader(`{"all":true}`))
	req.Header.Set("Authorization", "Bearer "+keyA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("HTTP redrive over the rate: %d, Retry-After %q; want 429, 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	allow = true
	rep, err := d.Redrive(ctx, bustest.Tenant, dlq.Selection{All: true})
	if err != nil || len(rep.Results) != len(dls) {
		t.Fatalf("redrive within the rate: %+v, %v", rep, err)
	}
	if charged[bustest.Tenant] != len(dls) || len(charged) != 1 {
		t.Errorf("charged %v, want %d to %s", charged, len(dls), bustest.Tenant)
	}
}
