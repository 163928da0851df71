package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
)

// An engine killed after storing and publishing a batch of envelopes but
// before acking all of them: the redelivered events are processed again and
// neither the store nor the tenant stream gets a duplicate (the store keeps
// the first write: the processed event is byte-identical). A producer's
// retry of the first events, in an envelope of its own, changes nothing
// either.
func TestRedeliveryDoesNotDuplicate(t *testing.T) {
	env := bustest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := pebble.Open(t.TempDir(), pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := runnertest.Registry()
	acc := &accept.Acceptor{Normalizer: accept.NewNormalizer(reg, ""), Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{})}
	const n = 100
	evs := make([]*cloudevents.Event, n)
	for i := range evs {
		evs[i] = &cloudevents.Event{SpecVersion: "1.0", ID: fmt.Sprint("e", i), Source: "/s", Type: runnertest.OrderType,
			DataSchema: "com.acme.order.created/v1", Data: json.RawMessage(fmt.Sprintf(`{"id":"o","amount":%d}`, i*30))}
	}
	const envelopes, per = 4, n / 4 // each Accept is one envelope
	for i := 0; i < envelopes; i++ {
		for _, err := range acc.Accept(ctx, "acme", evs[i*per:(i+1)*per]) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	e, err := New(ctx, env.JS, Options{Registry: reg, Store: st, AckWait: 500 * time.Millisecond, MaxWait: 200 * time.Millisecond, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	// First life: the whole pipeline but the acks, e.g. SIGKILL right after
	// PublishBatch returned; the first envelope is acked before the crash
	// ("mid-batch").
	mb, err := e.cons.Fetch(envelopes, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range mb.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) != envelopes {
		t.Fatalf("fetched %d messages, want %d envelopes", len(msgs), envelopes)
	}
	w := newWorker(e)
	rs := e.Rules()
	var arena []byte
	for _, m := range msgs {
		w.unpack(m)
	}
	if len(w.items) != n {
		t.Fatalf("unpacked %d events, want %d", len(w.items), n)
	}
	for i := range w.items {
		arena = w.process(rs, &w.items[i], arena)
	}
	w.snapshotOuts()
	w.store(ctx)
	w.publish(ctx)
	if err := msgs[0].DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[string]store.Record{}
	for _, ev := range evs {
		r, err := st.Get(ctx, "acme", ev.Source, ev.ID)
		if err != nil {
			t.Fatalf("first life did not store %s: %v", ev.ID, err)
		}
		before[ev.ID] = r
	}

	// The producer, not told of its first 10 events, sends them again.
	for _, err := range acc.Accept(ctx, "acme", evs[:10]) {
		if err != nil {
			t.Fatal(err)
		}
	}

	// Second life.
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = e.Run(runCtx) }()
	deadline := time.Now().Add(15 * time.Second)
	for env.Count(t, bus.StreamProc, "") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ER_PROC still holds %d", env.Count(t, bus.StreamProc, ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if got := env.Count(t, bustest.TenantStream, ""); got != n {
		t.Fatalf("the tenant stream holds %d, want %d", got, n)
	}
	for _, ev := range evs {
		r, err := st.Get(ctx, "acme", ev.Source, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b := before[ev.ID]; !r.StoredAt.Equal(b.StoredAt) || string(r.Event) != string(b.Event) {
			t.Fatalf("%s was rewritten by the redelivery:\n%s\n%s", ev.ID, b.Event, r.Event)
		}
	}
	page, err := st.List(ctx, store.Query{Tenant: "acme", Limit: store.MaxLimit})
	if err != nil || len(page.Records) != n {
		t.Fatalf("store lists %d records (%v), want %d", len(page.Records), err, n)
	}
}

func TestRuleSetIndex(t *testing.T) {
	v1, v2 := runnertest.OrderV1, runnertest.OrderV2
	rs := NewRuleSet("b", []rules.KnowledgeBase{runnertest.Route(v1.ID), runnertest.Enrich(v1.ID), runnertest.Enrich(v2.ID)})
	got := rs.For(v1)
	if len(got) != 2 || got[0].Name() != "a-enrich" || got[1].Name() != "b-route" || rs.bound(v1).versions != "a-enrich@1.0.0,b-route@2.1.0" {
		t.Fatalf("For(v1) = %v (%s)", got, rs.bound(v1).versions)
	}
	if got := rs.For(v2); len(got) != 1 {
		t.Fatalf("For(v2) = %v", got)
	}
	if got := rs.For(&rules.Schema{ID: "x/v1"}); got != nil {
		t.Fatalf("For(unknown) = %v", got)
	}
}
