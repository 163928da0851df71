package wasm

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/natscluster"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/wasm/wasmtest"
)

// TestStoreOnNATSCluster: on a three-node NATS cluster the buckets are
// replicated as configured (R3); a deployment made through a process on
// one node runs on a process on another; and after the node leading the
// deployments bucket is killed, a removal through the other process still
// reaches the first once a new leader is elected.
func TestStoreOnNATSCluster(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{})
	rep := bus.Replication{Replicas: 3}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	seed, pub := accountKey(t)
	reg := tenant.NewRegistry()
	if err := reg.Add(tenant.Tenant{ID: "good", KeyHashes: []string{tenant.HashKey(tenant.NewKey())}, SigningKeys: []string{pub}}); err != nil {
		t.Fatal(err)
	}
	good, _ := reg.Get("good")
	procs := make([]*Manager, 2)
	var js jetstream.JetStream
	for i := range procs {
		nc := c.Connect(t)
		pjs, err := bus.NewJetStream(nc)
		if err != nil {
			t.Fatal(err)
		}
		streams := tenantnats.SharedStreams(pjs, rep)
		if i == 0 {
			js = pjs
			if err := bus.EnsureStreams(ctx, pjs, bus.StreamsConfig{Replication: rep}); err != nil {
				t.Fatal(err)
			}
			if err := streams.Ensure(ctx, good); err != nil {
				t.Fatal(err)
			}
		}
		store, err := OpenJetStreamStore(ctx, pjs, rep)
		if err != nil {
			t.Fatal(err)
		}
		procs[i] = &Manager{Store: store, Host: testHost(), JS: pjs, Streams: streams, Tenants: reg}
		if err := procs[i].Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { procs[i].Close(context.Background()) })
	}
	for _, stream := range []string{"KV_" + DeploymentsBucket, "OBJ_" + ModulesBucket} {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.CachedInfo().Config.Replicas; n != 3 {
			t.Errorf("%s: %d replicas, want 3", stream, n)
		}
	}

	a, b := procs[0], procs[1]
	bin := wasmtest.GoGuest(t)
	sig, err := Sign(seed, Claims{Tenant: "good", Name: "summ", Capabilities: []string{CapEmit, CapLog}}, bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deploy(ctx, "good", DeployRequest{Name: "summ", Module: bin, Signature: sig, Pool: 1}); err != nil {
		t.Fatal(err)
	}
	var why string // the last reason b gave for not running it, logged as it changes
	runs := func(m *Manager) bool {
		i, err := m.Get("good", "summ")
		if now := fmt.Sprint(err, " ", i.Error); err != nil || i.Error != "" {
			if now != why {
				t.Logf("not running yet: %s", now)
				why = now
			}
			return false
		}
		return true
	}
	waitFor(t, "b runs a's deployment", func() bool { return runs(b) })
	for i := range 20 {
		ev := fmt.Sprintf(`{"specversion":"1.0","id":"c%d","source":"/t","type":"com.acme.x","tenantid":"good","data":{}}`, i)
		if _, err := js.Publish(ctx, "er.t.good.com.acme.x", []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	read(t, js, tenantnats.StreamName("good"), tenantnats.OutSubject("good", "summ"), 20)

	leader, err := c.StreamLeader(ctx, js, "KV_"+DeploymentsBucket)
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	start := time.Now()
	for {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		err := b.Remove(rctx, "good", "summ")
		rcancel()
		if err == nil || errors.Is(err, ErrNotDeployed) {
			break
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("remove after the bucket leader died: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("removal went through %v after killing node %d (the bucket's leader)", time.Since(start), leader)
	waitFor(t, "a stops what b removed", func() bool {
		_, err := a.Get("good", "summ")
		return errors.Is(err, ErrNotDeployed)
	})
}
