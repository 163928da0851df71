package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/wasm/wasmtest"
)

// process is one engine process of a cluster: its own connection to the
// engine account, its own view of the tenants' streams and a Manager on
// the JetStream store.
type process struct {
	name  string
	js    jetstream.JetStream
	store *JetStreamStore
	mgr   *Manager
}

// process starts one with the world's tenants (reg nil) or its own.
func (w *world) process(t *testing.T, name string, reg TenantLookup) *process {
	t.Helper()
	return w.processWith(t, name, reg, nil)
}

// processWith starts one whose Manager sees the store through wrap
// (which injects faults), when not nil.
func (w *world) processWith(t *testing.T, name string, reg TenantLookup, wrap func(*JetStreamStore) Store) *process {
	t.Helper()
	creds, err := w.env.Keys.EngineCreds()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := bus.Connect(w.env.Server.ClientURL(), append(creds.Options(), nats.Name(name))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := bus.NewJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := OpenJetStreamStore(ctx, js, bus.Replication{})
	if err != nil {
		t.Fatal(err)
	}
	if reg == nil {
		reg = w.reg
	}
	var ms Store = store
	if wrap != nil {
		ms = wrap(store)
	}
	p := &process{name: name, js: js, store: store, mgr: &Manager{Store: ms, Host: testHost(), JS: js,
		Streams: tenantnats.AccountStreams(nc, bus.Replication{}), Tenants: reg, Backoff: []time.Duration{50 * time.Millisecond}}}
	if err := p.mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		p.mgr.Close(context.Background())
	})
	return p
}

// waitFor polls cond for up to 20 s (a bound, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("%s: not after 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func running(p *process, tenantID, name string) bool {
	i, err := p.mgr.Get(tenantID, name)
	return err == nil && i.Error == ""
}

func handled(p *process, tenantID, name string) int64 {
	i, _ := p.mgr.Get(tenantID, name)
	return i.Stats.Handled
}

// outputs reads n outputs of consumer name and returns how often each
// source event id was seen.
func (w *world) outputs(t *testing.T, tenantID, name string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, m := range read(t, w.tjs(t, tenantID), tenantnats.StreamName(tenantID), tenantnats.OutSubject(tenantID, name), n) {
		_, rest, _ := strings.Cut(string(m.Data()), `"source_id":"`)
		id, _, _ := strings.Cut(rest, `"`)
		seen[id]++
	}
	return seen
}

// TestClusterSharesWork: a deployment made on one process runs on every
// process, which share its events through the durable consumer: each
// event handled once; a process that stops leaves the rest to the others,
// none skipped; a removal on any process stops it everywhere.
func TestClusterSharesWork(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.process(t, "a", nil), w.process(t, "b", nil)
	bin := wasmtest.GoGuest(t)
	if _, err := a.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin), Pool: 2}); err != nil {
		t.Fatal(err)
	}
	if !running(a, "good", "summ") {
		t.Fatal("Deploy returned before its own process ran the deployment")
	}
	took := waitFor(t, "b runs a's deployment", func() bool { return running(b, "good", "summ") })
	t.Logf("b started a's deployment %v after Deploy returned", took)

	const n = 200
	for i := range n {
		w.publish(t, "good", fmt.Sprintf("e%d", i), `{"i":1}`)
	}
	seen := w.outputs(t, "good", "summ", n)
	if len(seen) != n {
		t.Fatalf("%d distinct outputs, want %d", len(seen), n)
	}
	waitFor(t, "every event counted", func() bool { return handled(a, "good", "summ")+handled(b, "good", "summ") >= n })
	ha, hb := handled(a, "good", "summ"), handled(b, "good", "summ")
	if ha+hb != n || ha == 0 || hb == 0 {
		t.Fatalf("handled: a %d + b %d, want %d in all, by both", ha, hb, n)
	}

	// a stops (as a process shutting down does) in the middle of a stream.
	for i := range n {
		w.publish(t, "good", fmt.Sprintf("k%d", i), `{"i":1}`)
	}
	waitFor(t, "a handles some of the second batch", func() bool { return handled(a, "good", "summ") >= ha+20 })
	a.mgr.mu.Lock()
	ac := a.mgr.deps[key("good", "summ")].c // its counters, which Close leaves
	a.mgr.mu.Unlock()
	a.mgr.Close(ctx)
	for i := n; i < 2*n; i++ {
		w.publish(t, "good", fmt.Sprintf("k%d", i), `{"i":1}`)
	}
	seen = w.outputs(t, "good", "summ", 3*n)
	for i := range 2 * n {
		if id := fmt.Sprintf("k%d", i); seen[id] != 1 {
			t.Fatalf("event %s: %d outputs", id, seen[id])
		}
	}
	waitFor(t, "b handles the rest", func() bool { return ac.stats().Handled+handled(b, "good", "summ") >= 3*n })
	if ha, hb := ac.stats().Handled, handled(b, "good", "summ"); ha+hb != 3*n {
		t.Fatalf("handled: a %d + b %d, want %d: each event once", ha, hb, 3*n)
	}
	cons, err := w.tjs(t, "good").Consumer(ctx, tenantnats.StreamName("good"), durableName("summ"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the durable consumer drained", func() bool {
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})

	// a comes back: it runs the deployment again (it was not removed).
	a = w.process(t, "a2", nil)
	if !running(a, "good", "summ") {
		t.Fatalf("a restarted without the deployment: %+v", a.mgr.List("good"))
	}

	// A removal on b stops a, deletes the durable and the unused module.
	if err := b.mgr.Remove(ctx, "good", "summ"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.mgr.Get("good", "summ"); !errors.Is(err, ErrNotDeployed) {
		t.Fatalf("b still has it: %v", err)
	}
	waitFor(t, "a stops what b removed", func() bool {
		_, err := a.mgr.Get("good", "summ")
		return errors.Is(err, ErrNotDeployed)
	})
	if _, err := w.tjs(t, "good").Consumer(ctx, tenantnats.StreamName("good"), durableName("summ")); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("durable still there: %v", err)
	}
	if _, err := b.store.obs.GetInfo(ctx, ModuleSHA256(bin)); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("unreferenced module still stored: %v", err)
	}
}

// flakyStore fails its first module reads, as a bucket electing a leader
// or a replica that is behind does.
type flakyStore struct {
	*JetStreamStore
	fails atomic.Int32
}

func (s *flakyStore) Module(ctx context.Context, d Deployment) ([]byte, error) {
	if s.fails.Add(-1) >= 0 {
		return nil, nats.ErrNoResponders
	}
	return s.JetStreamStore.Module(ctx, d)
}

// TestClusterRetriesFailedStart: a process that cannot read a deployment's
// module for a while (the cluster is electing a leader) starts it once it
// can, without another change to the deployment.
func TestClusterRetriesFailedStart(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.process(t, "a", nil)
	var flaky *flakyStore
	b := w.processWith(t, "b", nil, func(s *JetStreamStore) Store {
		flaky = &flakyStore{JetStreamStore: s}
		flaky.fails.Store(3)
		return flaky
	})
	bin := wasmtest.GoGuest(t)
	if _, err := a.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin), Pool: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b runs a's deployment after its failed reads", func() bool { return running(b, "good", "summ") })
	if left := flaky.fails.Load(); left >= 0 {
		t.Fatalf("b ran it with %d injected failures left: the faults were not exercised", left+1)
	}
	w.publish(t, "good", "r1", `{"i":1}`)
	if seen := w.outputs(t, "good", "summ", 1); seen["r1"] != 1 {
		t.Fatalf("outputs %v, want r1 once", seen)
	}
}

// TestClusterRefusesTamperedModule: a process fetching a module that no
// longer matches the sha256 its claims name refuses to run it; deploying
// the module again repairs the store.
func TestClusterRefusesTamperedModule(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.process(t, "a", nil)
	bin := wasmtest.GoGuest(t)
	req := DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin), Pool: 1}
	if _, err := a.mgr.Deploy(ctx, "good", req); err != nil {
		t.Fatal(err)
	}
	sha := ModuleSHA256(bin)
	if _, err := a.store.obs.PutBytes(ctx, sha, bin[:len(bin)-1]); err != nil {
		t.Fatal(err)
	}
	b := w.process(t, "b", nil)
	info, err := b.mgr.Get("good", "summ")
	if err != nil || !strings.Contains(info.Error, "the stored module's sha256") || !strings.Contains(info.Error, "is not the "+sha) {
		t.Fatalf("b: %+v %v", info, err)
	}
	if !running(a, "good", "summ") {
		t.Fatal("a stopped")
	}
	if _, err := a.mgr.Deploy(ctx, "good", req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b runs the repaired module", func() bool { return running(b, "good", "summ") })
}

// TestClusterDeployRefusedBeforeStoring: what does not verify or load is
// refused to the deployer and stored nowhere.
func TestClusterDeployRefusedBeforeStoring(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.process(t, "a", nil)
	junk := []byte("\x00asm\x01\x00\x00\x00 not really")
	_, err := a.mgr.Deploy(ctx, "good", DeployRequest{Name: "junk", Module: junk, Signature: w.sign(t, "good", "good", "junk", junk)})
	var ge *GuestError
	if !errors.As(err, &ge) || ge.Kind != "abi" {
		t.Fatalf("junk module: %v", err)
	}
	bin := wasmtest.GoGuest(t)
	if _, err := a.mgr.Deploy(ctx, "good", DeployRequest{Name: "x", Module: bin, Signature: w.sign(t, "good", "good", "y", bin)}); err == nil {
		t.Fatal("a module signed for another name was deployed")
	}
	if _, err := a.store.kv.Get(ctx, kvKey("good", "junk")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("refused deployment stored: %v", err)
	}
	if _, err := a.store.obs.List(ctx); !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Errorf("refused modules stored: %v", err)
	}
	if l := a.mgr.List("good"); len(l) != 0 {
		t.Errorf("listed: %+v", l)
	}
}

// TestClusterTenantChanged: a process that sees a deployment before the
// tenant's signing key (its registry lags) runs it once the key arrives,
// and stops it when the key is withdrawn.
func TestClusterTenantChanged(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.process(t, "a", nil)
	good, _ := w.reg.Get("good")
	lagging := tenant.NewRegistry()
	b := w.process(t, "b", lagging)
	bin := wasmtest.GoGuest(t)
	if _, err := a.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin), Pool: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b sees the deployment", func() bool { _, err := b.mgr.Get("good", "summ"); return err == nil })
	if i, _ := b.mgr.Get("good", "summ"); !strings.Contains(i.Error, "tenant good: "+tenant.ErrNotFound.Error()) {
		t.Fatalf("b without the tenant: %+v", i)
	}
	noKey := good
	noKey.SigningKeys = nil
	steps := []struct {
		tenant tenant.Tenant
		error  string // "" = running
	}{
		{noKey, "not a signing key of tenant good"},
		{good, ""},
		{noKey, "no longer a signing key of tenant good"},
	}
	for _, s := range steps {
		if err := lagging.Add(s.tenant); err != nil {
			t.Fatal(err)
		}
		b.mgr.TenantChanged("good")
		if i, _ := b.mgr.Get("good", "summ"); s.error == "" && i.Error != "" || !strings.Contains(i.Error, s.error) {
			t.Fatalf("signing keys %v: error %q, want %q", s.tenant.SigningKeys, i.Error, s.error)
		}
	}
	if !running(a, "good", "summ") {
		t.Fatal("a stopped")
	}
}

// TestClusterRemoveTenant: a deleted tenant's deployments go from the
// store, and so from every process; another tenant's stay.
func TestClusterRemoveTenant(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.process(t, "a", nil), w.process(t, "b", nil)
	bin := wasmtest.GoGuest(t)
	for _, id := range []string{"good", "evil"} {
		if _, err := a.mgr.Deploy(ctx, id, DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, id, id, "summ", bin), Pool: 1}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "b runs both", func() bool { return running(b, "good", "summ") && running(b, "evil", "summ") })
	a.mgr.RemoveTenant(ctx, "evil")
	waitFor(t, "b stops evil's", func() bool { return len(b.mgr.List("evil")) == 0 })
	if _, err := a.store.kv.Get(ctx, kvKey("evil", "summ")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("evil's deployment still stored: %v", err)
	}
	if !running(a, "good", "summ") || !running(b, "good", "summ") {
		t.Error("good's deployment stopped")
	}
	if _, err := a.store.obs.GetInfo(ctx, ModuleSHA256(bin)); err != nil {
		t.Errorf("a module good still runs was deleted: %v", err)
	}
}

// TestClusterBucketsOutOfTenantsReach: the buckets live in the engine's
// account; a tenant's own JetStream has no such buckets.
func TestClusterBucketsOutOfTenantsReach(t *testing.T) {
	w := newWorld(t)
	w.process(t, "a", nil)
	nc, _ := w.env.TenantConn(t, "good")
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.KeyValue(ctx, DeploymentsBucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("a tenant's KeyValue(%s): %v, want bucket not found", DeploymentsBucket, err)
	}
	if _, err := js.ObjectStore(ctx, ModulesBucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("a tenant's ObjectStore(%s): %v, want bucket not found", ModulesBucket, err)
	}
}

// TestDurableKeepsDeliverPolicy: a redeploy asking for another deliver
// policy keeps the durable consumer, and its position, as it is.
func TestDurableKeepsDeliverPolicy(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bin := wasmtest.GoGuest(t)
	sig := w.sign(t, "good", "good", "summ", bin)
	for _, deliver := range []string{"all", "new"} {
		if _, err := w.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: sig, Pool: 1, Deliver: deliver}); err != nil {
			t.Fatalf("deliver %s: %v", deliver, err)
		}
	}
	cons, err := w.tjs(t, "good").Consumer(ctx, tenantnats.StreamName("good"), durableName("summ"))
	if err != nil {
		t.Fatal(err)
	}
	if p := cons.CachedInfo().Config.DeliverPolicy; p != jetstream.DeliverAllPolicy {
		t.Errorf("deliver policy %v, want the first deploy's (all)", p)
	}
}

// TestRemoveFinishesLeftDurable: a removal that deleted the deployment but
// not its durable consumer (the tenant's stream had no leader) is finished
// by removing the name again, which deletes the durable; once it is gone
// the name is not deployed.
func TestRemoveFinishesLeftDurable(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.process(t, "a", nil)
	bin := wasmtest.GoGuest(t)
	if _, err := a.mgr.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: w.sign(t, "good", "good", "summ", bin), Pool: 1}); err != nil {
		t.Fatal(err)
	}
	// The first half of a removal: the deployment deleted, the durable left.
	if _, err := a.store.Delete(ctx, "good", "summ"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a stops the deleted deployment", func() bool { return !running(a, "good", "summ") })
	durable := func() error {
		_, err := w.tjs(t, "good").Consumer(ctx, tenantnats.StreamName("good"), durableName("summ"))
		return err
	}
	if err := durable(); err != nil {
		t.Fatalf("the durable should be left: %v", err)
	}
	if err := a.mgr.Remove(ctx, "good", "summ"); err != nil {
		t.Fatalf("removing again: %v, want the left durable deleted", err)
	}
	if err := durable(); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("durable after the second removal: %v", err)
	}
	if err := a.mgr.Remove(ctx, "good", "summ"); !errors.Is(err, ErrNotDeployed) {
		t.Errorf("a third removal: %v, want ErrNotDeployed", err)
	}
}
