package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
	"github.com/eventrunner/eventrunner/runtime/wasm/wasmtest"
)

// world is the embedded NATS in operator mode with tenants good and evil
// (accounts, streams, signing keys) and a started Manager.
type world struct {
	env     *tenantnatstest.Env
	js      jetstream.JetStream // the engine's account
	reg     *tenant.Registry
	mgr     *Manager
	seeds   map[string][]byte
	metrics *prometheus.Registry
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := tenantnatstest.Start(t, "good", "evil")
	w := &world{env: env, js: env.JS, reg: env.Registry, seeds: map[string][]byte{}, metrics: prometheus.NewRegistry()}
	for _, id := range []string{"good", "evil"} {
		seed, pub := accountKey(t)
		w.seeds[id] = seed
		tn, _ := w.reg.Get(id)
		tn.SigningKeys = []string{pub}
		env.Put(t, tn)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.mgr = w.manager(t.TempDir())
	w.mgr.Metrics, w.mgr.Backoff = NewMetrics(w.metrics), []time.Duration{50 * time.Millisecond}
	w.mgr.Start(ctx)
	t.Cleanup(func() {
		cancel()
		w.mgr.Close(context.Background())
	})
	return w
}

// manager is a Manager over the world's NATS keeping its files in dir.
func (w *world) manager(dir string) *Manager {
	return &Manager{Dir: dir, Host: testHost(), JS: w.js, Streams: w.env.Streams, Tenants: w.reg}
}

// tjs is tenant id's stream's JetStream, as the engine reaches it.
func (w *world) tjs(t *testing.T, id string) jetstream.JetStream { return w.env.TenantJS(t, id) }

func (w *world) sign(t *testing.T, signer, claimsTenant, name string, module []byte) string {
	t.Helper()
	tok, err := Sign(w.seeds[signer], Claims{Tenant: claimsTenant, Name: name, Capabilities: []string{CapEmit, CapLog}}, module)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (w *world) publish(t *testing.T, tenantID, id, data string) {
	t.Helper()
	ev := `{"specversion":"1.0","id":"` + id + `","source":"/t","type":"com.acme.x","tenantid":"` + tenantID + `","data":` + data + `}`
	if err := w.env.Publish(context.Background(), "er.t."+tenantID+".com.acme.x", []byte(ev)); err != nil {
		t.Fatal(err)
	}
}

// read collects n messages of stream filtered by subject (bounded wait).
func read(t *testing.T, js jetstream.JetStream, stream, subject string, n int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for len(out) < n && ctx.Err() == nil {
		msgs, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range msgs.Messages() {
			out = append(out, m)
		}
	}
	if len(out) < n {
		t.Fatalf("%s %s: %d messages after 60s, want %d", stream, subject, len(out), n)
	}
	return out
}

// TestConsumers: a good tenant's consumer transforms its events while
// another tenant's hostile events are each retried, then dead-lettered with
// the reason, without touching the good tenant's output.
func TestConsumers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bin := wasmtest.GoGuest(t)
	if _, err := w.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.mgr.Deploy(ctx, "evil", DeployRequest{Name: "evil", Module: bin, Signature: w.sign(t, "evil", "evil", "evil", bin),
		TimeoutMS: 3000, MemoryMB: 16, MaxAttempts: 2}); err != nil {
		t.Fatal(err)
	}
	hostile := []string{"loop", "bomb", "trap", "bigemit"}
	for i, mode := range hostile {
		w.publish(t, "evil", "evil-"+mode, `{"mode":"`+mode+`"}`)
		w.publish(t, "good", fmt.Sprintf("good-%d", i), `{"n":1}`)
	}
	for i := len(hostile); i < 20; i++ {
		w.publish(t, "good", fmt.Sprintf("good-%d", i), `{"n":1}`)
	}
	w.publish(t, "evil", "evil-ok", `{"n":1}`)

	outs := read(t, w.tjs(t, "good"), tenantnats.StreamName("good"), "er.out.good.>", 20)
	var ids []string
	for _, m := range outs {
		var s struct{ SourceID, Tenant, Guest string }
		json.Unmarshal(m.Data(), &struct {
			SourceID *string `json:"source_id"`
			Tenant   *string `json:"tenant"`
			Guest    *string `json:"guest"`
		}{&s.SourceID, &s.Tenant, &s.Guest})
		if m.Subject() != "er.out.good.summ" || s.Tenant != "good" || s.Guest != "go" {
			t.Fatalf("output %s: %s", m.Subject(), m.Data())
		}
		ids = append(ids, s.SourceID)
	}
	sort.Strings(ids)
	if len(ids) != 20 || ids[0] != "good-0" {
		t.Fatalf("good outputs: %v", ids)
	}

	dead := read(t, w.js, bus.StreamDLQ, "er.dlq.evil", len(hostile))
	kinds := map[string]string{}
	for _, m := range dead {
		var ev struct{ ID string }
		json.Unmarshal(m.Data(), &ev)
		kinds[ev.ID] = m.Headers().Get(bus.HeaderDLQKind) + " " + m.Headers().Get(bus.HeaderDLQReason)
		if m.Headers().Get(bus.HeaderDLQStage) != "wasm:evil" {
			t.Errorf("stage %q", m.Headers().Get(bus.HeaderDLQStage))
		}
	}
	want := map[string]string{
		"evil-loop":    "wasm-timeout after 2 attempts: wasm guest timeout: deadline exceeded",
		"evil-bomb":    "out of memory",
		"evil-trap":    "panic: guest trapped on purpose",
		"evil-bigemit": "wasm-limit after 2 attempts: wasm guest limit: emit of 2097152 bytes exceeds the limit of 1048576",
	}
	for id, s := range want {
		if !strings.Contains(kinds[id], s) {
			t.Errorf("dead letter %s: %q, want it to contain %q", id, kinds[id], s)
		}
	}
	// The evil tenant's well-behaved event still went through.
	ok := read(t, w.tjs(t, "evil"), tenantnats.StreamName("evil"), "er.out.evil.evil", 1)
	if !strings.Contains(string(ok[0].Data()), `"evil-ok"`) {
		t.Errorf("evil's good event: %s", ok[0].Data())
	}
	// The counters are updated right after the dead letter is published:
	// give the last one a moment.
	info, err := w.mgr.Get("evil", "evil")
	for deadline := time.Now().Add(10 * time.Second); err == nil && info.Stats.DeadLettered < 4 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		info, err = w.mgr.Get("evil", "evil")
	}
	if err != nil || info.Stats.DeadLettered != 4 || info.Stats.Failed != 8 || info.Stats.LastError == "" {
		t.Errorf("evil stats: %+v %v", info.Stats, err)
	}
	good, _ := w.mgr.Get("good", "summ")
	for deadline := time.Now().Add(10 * time.Second); good.Stats.Handled < 20 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		good, _ = w.mgr.Get("good", "summ")
	}
	if good.Stats.Handled != 20 || good.Stats.Emitted != 20 || good.Stats.Failed != 0 {
		t.Errorf("good stats: %+v", good.Stats)
	}
	if n := testutilCount(t, w.metrics, "eventrunner_wasm_events_total"); n < 20 {
		t.Errorf("metrics: %v events", n)
	}

	// The good tenant reads its outputs with its own credentials.
	tnc, _ := w.env.TenantConn(t, "good")
	tjs, _ := jetstream.New(tnc)
	read(t, tjs, tenantnats.StreamName("good"), "er.out.good.summ", 20)

	// Remove stops the consumer and deletes its durable.
	if err := w.mgr.Remove(ctx, "good", "summ"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tjs(t, "good").Consumer(ctx, tenantnats.StreamName("good"), "wasm-summ"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("durable still there: %v", err)
	}
	if len(w.mgr.List("good")) != 0 || len(w.mgr.List("evil")) != 1 {
		t.Errorf("lists: %v / %v", w.mgr.List("good"), w.mgr.List("evil"))
	}
}

func testutilCount(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestDeployRefused: signatures and claims are checked on upload.
func TestDeployRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bin := wasmtest.GoGuest(t)
	valid := w.sign(t, "evil", "evil", "x", bin)
	p, _, _ := strings.Cut(valid, ".")
	tests := []struct {
		name   string
		tenant string
		req    DeployRequest
		want   string
	}{
		{"bad signature", "evil", DeployRequest{Name: "x", Module: bin, Signature: p + ".AAAA"}, "does not verify"},
		{"another tenant's claims", "evil", DeployRequest{Name: "x", Module: bin, Signature: w.sign(t, "evil", "good", "x", bin)}, `the claims are for tenant "good", not "evil"`},
		{"another tenant's signed module", "evil", DeployRequest{Name: "x", Module: bin, Signature: w.sign(t, "good", "good", "x", bin)}, `for tenant "good"`},
		{"signed by another tenant's key", "evil", DeployRequest{Name: "x", Module: bin, Signature: w.sign(t, "good", "evil", "x", bin)}, "not a signing key of tenant evil"},
		{"other module", "evil", DeployRequest{Name: "x", Module: append([]byte{}, bin[:len(bin)-1]...), Signature: valid}, "does not match the claims"},
		{"other name", "evil", DeployRequest{Name: "y", Module: bin, Signature: valid}, `for consumer "x", not "y"`},
		{"memory above the cap", "evil", DeployRequest{Name: "x", Module: bin, Signature: valid, MemoryMB: 100000}, "above the host's"},
		{"pool above the cap", "evil", DeployRequest{Name: "x", Module: bin, Signature: valid, Pool: 100}, "pool 100 above 16"},
	}
	for _, tt := range tests {
		if _, err := w.mgr.Deploy(ctx, tt.tenant, tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if n := len(w.mgr.List("evil")); n != 0 {
		t.Errorf("%d consumers deployed", n)
	}
	// At most MaxPerTenant consumers per tenant; redeploying one is fine.
	w.mgr.MaxPerTenant = 1
	if _, err := w.mgr.Deploy(ctx, "evil", DeployRequest{Name: "x", Module: bin, Signature: valid, Pool: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.mgr.Deploy(ctx, "evil", DeployRequest{Name: "x", Module: bin, Signature: valid, Pool: 1}); err != nil {
		t.Fatalf("redeploy: %v", err)
	}
	second := w.sign(t, "evil", "evil", "y", bin)
	if _, err := w.mgr.Deploy(ctx, "evil", DeployRequest{Name: "y", Module: bin, Signature: second}); err == nil || !strings.Contains(err.Error(), "already runs 1 WASM consumers") {
		t.Errorf("second consumer: %v", err)
	}
}

// TestRestart: a deployment survives a restart (Start reloads it, checking
// its signature again) unless its tenant's signing key was withdrawn.
func TestRestart(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bin := wasmtest.GoGuest(t)
	if _, err := w.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin), Pool: 1}); err != nil {
		t.Fatal(err)
	}
	w.mgr.Close(ctx)
	again := w.manager(w.mgr.Dir)
	again.Start(ctx)
	defer again.Close(ctx)
	if l := again.List("good"); len(l) != 1 || l[0].Name != "summ" || l[0].Limits.Pool != 1 {
		t.Fatalf("after restart: %+v", l)
	}
	w.publish(t, "good", "after-restart", `{"a":1}`)
	outs := read(t, w.tjs(t, "good"), tenantnats.StreamName("good"), "er.out.good.summ", 1)
	if !strings.Contains(string(outs[0].Data()), "after-restart") {
		t.Fatalf("output %s", outs[0].Data())
	}
	again.Close(ctx)
	tn, _ := w.reg.Get("good")
	tn.SigningKeys = nil
	w.reg.Add(tn)
	third := w.manager(w.mgr.Dir)
	third.Start(ctx)
	defer third.Close(ctx)
	if l := third.List("good"); len(l) != 1 || !strings.Contains(l[0].Error, "not a signing key of tenant good") {
		t.Fatalf("a module whose signing key was withdrawn restarted: %+v", l)
	}
	// It stays stored, and runs again once the key is back.
	tn.SigningKeys = []string{pub(t, w.seeds["good"])}
	w.reg.Add(tn)
	third.TenantChanged("good")
	if l := third.List("good"); len(l) != 1 || l[0].Error != "" {
		t.Fatalf("with the key back: %+v", l)
	}
	// Remove deletes it from the data directory.
	if err := third.Remove(ctx, "good", "summ"); err != nil {
		t.Fatal(err)
	}
	fourth := w.manager(w.mgr.Dir)
	fourth.Start(ctx)
	defer fourth.Close(ctx)
	if l := fourth.List("good"); len(l) != 0 {
		t.Fatalf("removed, then restarted: %+v", l)
	}
}

func pub(t *testing.T, seed []byte) string {
	t.Helper()
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := kp.PublicKey()
	return p
}
