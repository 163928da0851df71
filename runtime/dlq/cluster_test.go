package dlq_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/natscluster"
	"github.com/eventrunner/eventrunner/runtime/dlq"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// TestDLQRedriveOnNATSCluster: on a three-node cluster the marker bucket has
// the configured replicas, and a redrive through a process on one node is
// seen, marker and all, by a process on another, which then purges it.
func TestDLQRedriveOnNATSCluster(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{})
	rep := bus.Replication{Replicas: 3}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	procs := make([]*dlq.DLQ, 2)
	for i := range procs {
		js, err := bus.NewJetStream(c.ConnectTo(t, i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{Replication: rep}); err != nil {
				t.Fatal(err)
			}
		}
		pub := bus.NewPublisher(js, bus.PublisherOptions{})
		acc := &accept.Acceptor{Normalizer: accept.NewNormalizer(runnertest.Registry(), ""), Publisher: pub}
		if procs[i], err = dlq.Open(ctx, js, dlq.Options{Acceptor: acc, Publisher: pub, Replication: rep}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			s, err := js.Stream(ctx, "KV_"+dlq.MarkerBucket)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.CachedInfo().Config.Replicas; n != 3 {
				t.Errorf("%s: %d replicas, want 3", dlq.MarkerBucket, n)
			}
			ev := `{"specversion":"1.0","id":"c-1","source":"/shop","type":"com.acme.order.created","data":{"id":"o-1","amount":42}}`
			m := bus.DLQMsg("acme", bus.Origin{Subject: "er.proc.acme." + runnertest.OrderType, Header: nats.Header{"Content-Type": {bus.ContentTypeCloudEvents}},
				Data: []byte(ev), Stream: bus.StreamProc, Seq: 1}, bus.Rejection{Stage: "engine", Kind: "rule-error", Reason: "boom"})
			if _, err := pub.Publish(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, b := procs[0], procs[1]
	res, err := a.Redrive(ctx, "acme", dlq.Selection{All: true})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("redrive on node 0: %+v, %v", res, err)
	}
	page, err := b.List(ctx, "acme", dlq.Filter{Redriven: new(true)}, 0, 10)
	if err != nil || len(page.DeadLetters) != 1 || page.DeadLetters[0].Redriven.Outcome != dlq.OutcomeAccepted {
		t.Fatalf("node 1 lists %+v, %v", page, err)
	}
	if n, err := b.Purge(ctx, "acme", dlq.Selection{Filter: dlq.Filter{Redriven: new(true)}}); err != nil || n != 1 {
		t.Fatalf("purge on node 1: %d, %v", n, err)
	}
	if _, err := a.Get(ctx, "acme", res.Results[0].Seq); err == nil {
		t.Error("node 0 still has the purged dead letter")
	}
}
