package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEnsureStreamsIdempotent(t *testing.T) {
	env := bustest.Start(t) // created once here
	ctx := ctxT(t)
	for i := 0; i < 2; i++ {
		if err := bus.EnsureStreams(ctx, env.JS, bus.StreamsConfig{}); err != nil {
			t.Fatalf("EnsureStreams again (%d): %v", i, err)
		}
	}
	want := map[string]struct {
		subject string
		ret     jetstream.RetentionPolicy
	}{
		bus.StreamRaw:  {"er.raw.>", jetstream.LimitsPolicy},
		bus.StreamProc: {"er.proc.>", jetstream.WorkQueuePolicy},
		bus.StreamDLQ:  {"er.dlq.>", jetstream.LimitsPolicy},
	}
	for name, w := range want {
		s, err := env.JS.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		cfg := s.CachedInfo().Config
		if len(cfg.Subjects) != 1 || cfg.Subjects[0] != w.subject || cfg.Retention != w.ret ||
			cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 2*time.Minute {
			t.Errorf("stream %s: subjects %v retention %v storage %v duplicates %v", name, cfg.Subjects, cfg.Retention, cfg.Storage, cfg.Duplicates)
		}
	}
	// An update in place (a new age limit) is applied.
	if err := bus.EnsureStreams(ctx, env.JS, bus.StreamsConfig{RawMaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	s, _ := env.JS.Stream(ctx, bus.StreamRaw)
	if got := s.CachedInfo().Config.MaxAge; got != time.Hour {
		t.Errorf("ER_RAW MaxAge after update = %v, want 1h", got)
	}
}

// TestEnsureStreamsDeletesLegacyStreams: the shared ER_TENANT of earlier
// versions binds er.t.>, which the tenant streams now bind, and
// ER_ANALYTICS sourced the tenant streams, which it cannot across
// accounts; both go.
func TestEnsureStreamsDeletesLegacyStreams(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := bus.NewJetStream(nc)
	ctx := ctxT(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ER_TENANT", Subjects: []string{"er.t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ER_ANALYTICS",
		Sources: []*jetstream.StreamSource{{Name: "ER_TENANT", FilterSubject: "er.t.acme.>"}}}); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ER_TENANT", "ER_ANALYTICS"} {
		if _, err := js.Stream(ctx, name); !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("%s after EnsureStreams: %v, want ErrStreamNotFound", name, err)
		}
	}
	// Again, with neither there: no error.
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureStreamsRefusesIncompatible(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	if err := env.JS.DeleteStream(ctx, bus.StreamProc); err != nil {
		t.Fatal(err)
	}
	if _, err := env.JS.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamProc, Subjects: []string{"er.proc.>"}, Retention: jetstream.InterestPolicy}); err != nil {
		t.Fatal(err)
	}
	err := bus.EnsureStreams(ctx, env.JS, bus.StreamsConfig{})
	if err == nil || !strings.Contains(err.Error(), "ER_PROC") {
		t.Fatalf("EnsureStreams over an ER_PROC with another retention = %v, want an error naming ER_PROC", err)
	}
}

func TestDedupByMsgID(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
	msg := func() *nats.Msg {
		m := nats.NewMsg("er.proc.acme.com.acme.order.created")
		m.Header.Set(bus.HeaderMsgID, bus.MsgID("acme", "/shop", "1"))
		m.Data = []byte(`{}`)
		return m
	}
	ack1, err := pub.Publish(ctx, msg())
	if err != nil || ack1.Duplicate {
		t.Fatalf("first publish: %+v, %v", ack1, err)
	}
	ack2, err := pub.Publish(ctx, msg())
	if err != nil || !ack2.Duplicate || ack2.Sequence != ack1.Sequence {
		t.Fatalf("second publish: %+v, %v; want a duplicate of seq %d", ack2, err, ack1.Sequence)
	}
	// A batch repeating the id is deduplicated too.
	batch := []*nats.Msg{msg(), msg(), msg()}
	if err := pub.PublishBatch(ctx, batch, make([]error, 3)); err != nil {
		t.Fatal(err)
	}
	if n := env.Count(t, bus.StreamProc, ""); n != 1 {
		t.Fatalf("ER_PROC holds %d messages, want 1", n)
	}
}

func TestPublishBatch(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	for _, scoped := range []bool{false, true} {
		pub := bus.NewPublisher(env.JS, bus.PublisherOptions{TenantAcks: scoped})
		const n = 2000
		msgs := make([]*nats.Msg, n)
		for i := range msgs {
			msgs[i] = nats.NewMsg(fmt.Sprintf("er.t.acme.type%d", i%7))
			msgs[i].Header.Set(bus.HeaderMsgID, fmt.Sprintf("m%v%d", scoped, i))
			msgs[i].Data = make([]byte, 1024)
		}
		errs := make([]error, n)
		if err := pub.PublishBatch(ctx, msgs, errs); err != nil {
			t.Fatal(err)
		}
		if scoped && !strings.HasPrefix(msgs[0].Reply, bus.AckPrefix+".acme.") {
			t.Errorf("scoped reply subject %q does not name the tenant", msgs[0].Reply)
		}
	}
	if got := env.Count(t, bustest.TenantStream, ""); got != 4000 {
		t.Fatalf("the tenant stream holds %d, want 4000", got)
	}

	// A listener that never answers: the PubAck times out, is retried, and
	// the message reports the timeout.
	nc, _ := env.Connect(t)
	silent, err := nc.SubscribeSync("silent.x")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{AckTimeout: 50 * time.Millisecond, Attempts: 2, RetryWait: time.Millisecond})
	errs := make([]error, 2)
	err = pub.PublishBatch(ctx, []*nats.Msg{nats.NewMsg("er.t.acme.fine"), nats.NewMsg("silent.x")}, errs)
	if err == nil || errs[0] != nil || !errors.Is(errs[1], jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("PublishBatch with an unanswered message: %v, per message %v", err, errs)
	}
	if n, _, _ := silent.Pending(); n != 2 {
		t.Errorf("the unanswered message was sent %d times, want 2 (one retry)", n)
	}

	// A subject no stream listens on fails per message, after the retries.
	bad := []*nats.Msg{nats.NewMsg("er.t.acme.ok"), nats.NewMsg("nowhere.x"), nats.NewMsg("er.t.acme.ok2")}
	pub = bus.NewPublisher(env.JS, bus.PublisherOptions{Attempts: 2, RetryWait: time.Millisecond})
	errs = make([]error, len(bad))
	err = pub.PublishBatch(ctx, bad, errs)
	if err == nil || errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("PublishBatch with a subject without stream: %v, per message %v", err, errs)
	}
	if !errors.Is(errs[1], jetstream.ErrNoStreamResponse) && !errors.Is(errs[1], nats.ErrNoResponders) {
		t.Errorf("error for the unrouted message = %v, want no stream response", errs[1])
	}
	if err := pub.PublishBatch(ctx, bad, nil); err == nil {
		t.Error("PublishBatch accepted an errs slice of the wrong length")
	}
}

func TestConsumeBatches(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
	const n = 1500
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = nats.NewMsg("er.proc.acme.t")
		msgs[i].Data = fmt.Appendf(nil, "%d", i)
	}
	if err := pub.PublishBatch(ctx, msgs, make([]error, n)); err != nil {
		t.Fatal(err)
	}
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, bus.StreamProc, jetstream.ConsumerConfig{
		Durable: "test", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	seen := map[string]int{}
	var groups, maxGroup atomic.Int64
	handle := func(_ context.Context, batch []jetstream.Msg) {
		groups.Add(1)
		if int64(len(batch)) > maxGroup.Load() {
			maxGroup.Store(int64(len(batch)))
		}
		mu.Lock()
		for _, m := range batch {
			seen[string(m.Data())]++
			_ = m.Ack()
		}
		total := len(seen)
		mu.Unlock()
		if total == n {
			stop()
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := bus.ConsumeBatches(runCtx, cons, bus.BatchOptions{Batch: 100, MaxWait: 200 * time.Millisecond}, handle)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ConsumeBatches = %v, want context.Canceled", err)
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("handled %d distinct messages, want %d", len(seen), n)
	}
	if maxGroup.Load() > 100 {
		t.Errorf("a group of %d messages exceeds Batch 100", maxGroup.Load())
	}
	t.Logf("%d messages in %d groups (largest %d)", n, groups.Load(), maxGroup.Load())
	// Acked messages leave the work queue.
	deadline := time.Now().Add(5 * time.Second)
	for env.Count(t, bus.StreamProc, "") != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := env.Count(t, bus.StreamProc, ""); left != 0 {
		t.Errorf("ER_PROC still holds %d acked messages", left)
	}
}

// A stop while messages are being handled waits for the handler and lets it
// settle the group.
func TestConsumeBatchesStopFinishesGroup(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	for i := 0; i < 10; i++ {
		if _, err := env.JS.Publish(ctx, "er.proc.acme.t", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, bus.StreamProc, jetstream.ConsumerConfig{Durable: "stop", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var acked atomic.Int64
	done := make(chan error)
	go func() {
		done <- bus.ConsumeBatches(runCtx, cons, bus.BatchOptions{Batch: 10}, func(hctx context.Context, batch []jetstream.Msg) {
			stop() // stop arrives mid-group
			time.Sleep(50 * time.Millisecond)
			if hctx.Err() != nil {
				t.Error("the handler's context was cancelled by the stop")
			}
			for _, m := range batch {
				if m.DoubleAck(hctx) == nil {
					acked.Add(1)
				}
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ConsumeBatches did not return after the stop")
	}
	if acked.Load() == 0 {
		t.Fatal("no message of the in-flight group was acked")
	}
	if left := env.Count(t, bus.StreamProc, ""); left != uint64(10-acked.Load()) {
		t.Errorf("ER_PROC holds %d, want %d", left, 10-acked.Load())
	}
}

func TestEmbeddedRestartKeepsMessages(t *testing.T) {
	dir := t.TempDir()
	srv, err := bus.StartEmbedded(bus.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := srv.Connect() // in-process connection
	if err != nil {
		t.Fatal(err)
	}
	js, _ := bus.NewJetStream(nc)
	ctx := ctxT(t)
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "er.raw.acme", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	srv.Shutdown()

	srv, err = bus.StartEmbedded(bus.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err = bus.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = bus.NewJetStream(nc)
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(ctx); info.State.Msgs != 1 {
		t.Fatalf("after restart ER_RAW holds %d messages, want 1", info.State.Msgs)
	}
}

func TestStartEmbeddedNeedsDataDir(t *testing.T) {
	if _, err := bus.StartEmbedded(bus.Options{}); err == nil {
		t.Fatal("StartEmbedded without DataDir succeeded")
	}
}

// A message its consumer gives up on (MaxDeliver deliveries, never acked)
// is copied to the DLQ and, from a work queue, removed.
func TestDeadLetterMaxDeliveries(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
	m := nats.NewMsg("er.proc.acme.com.acme.order.created")
	m.Header.Set("X-Trace", "t1")
	// A server instruction of the original publish must not be copied to
	// the dead letter (it would be refused by ER_DLQ).
	m.Header.Set("Nats-Expected-Stream", bus.StreamProc)
	m.Data = []byte(`{"poison":true}`)
	ack, err := pub.Publish(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, bus.StreamProc, jetstream.ConsumerConfig{
		Durable: "engine", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 100 * time.Millisecond, MaxDeliver: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	stop, err := bus.DeadLetterMaxDeliveries(env.JS, pub, bus.StreamProc, "engine", "engine", true, func(err error) { errs <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dlq := exhaustDeliveries(t, env, cons, errs, 1)
	h := dlq[0].Header
	if dlq[0].Subject != "er.dlq.acme" || h.Get(bus.HeaderDLQKind) != bus.KindMaxDeliver || h.Get(bus.HeaderDLQStage) != "engine" ||
		h.Get(bus.HeaderDLQDeliveries) != "2" || h.Get(bus.HeaderDLQSeq) != fmt.Sprint(ack.Sequence) || h.Get("X-Trace") != "t1" ||
		string(dlq[0].Data) != `{"poison":true}` || !strings.Contains(h.Get(bus.HeaderDLQReason), "delivered the message 2 times") {
		t.Errorf("dead letter %s %v %s", dlq[0].Subject, h, dlq[0].Data)
	}
	waitRemoved(t, env)
}

// An envelope its consumer gives up on becomes one dead letter per event,
// each a structured CloudEvent with its schema and its part.
func TestDeadLetterMaxDeliveriesSplitsEnvelopes(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
	m := nats.NewMsg("er.proc.acme")
	m.Header.Set(bus.HeaderContentType, bus.ContentTypeEnvelope)
	m.Header.Set(bus.HeaderEnvelopeCount, "2")
	m.Header.Set("X-Trace", "t2")
	m.Data = bus.AppendEnvelopeEntry(bus.AppendEnvelopeEntry(nil, "a/v1", []byte(`{"id":"1"}`)), "b/v2", []byte(`{"id":"2"}`))
	ack, err := pub.Publish(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, bus.StreamProc, jetstream.ConsumerConfig{
		Durable: "engine", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 100 * time.Millisecond, MaxDeliver: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	stop, err := bus.DeadLetterMaxDeliveries(env.JS, pub, bus.StreamProc, "engine", "engine", true, func(err error) { errs <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dlq := exhaustDeliveries(t, env, cons, errs, 2)
	if len(dlq) != 2 {
		t.Fatalf("%d dead letters, want one per event", len(dlq))
	}
	for i, d := range dlq {
		h, part := d.Header, fmt.Sprint(i+1)
		if h.Get(bus.HeaderDLQPart) != part || h.Get(bus.HeaderMsgID) != fmt.Sprintf("dlq/%s/%d/%s", bus.StreamProc, ack.Sequence, part) ||
			h.Get(bus.HeaderContentType) != bus.ContentTypeCloudEvents || h.Get(bus.HeaderEnvelopeCount) != "" ||
			h.Get(bus.HeaderSchema) != []string{"a/v1", "b/v2"}[i] || string(d.Data) != fmt.Sprintf(`{"id":"%d"}`, i+1) ||
			h.Get(bus.HeaderDLQKind) != bus.KindMaxDeliver || h.Get("X-Trace") != "t2" {
			t.Errorf("dead letter %d: %v %s", i, h, d.Data)
		}
	}
	waitRemoved(t, env)
}

// exhaustDeliveries fetches without settling ("crashes") until the
// consumer gives up and want dead letters are in ER_DLQ, and returns them.
func exhaustDeliveries(t *testing.T, env *bustest.Env, cons jetstream.Consumer, errs <-chan error, want int) []*jetstream.RawStreamMsg {
	t.Helper()
	// Pull requests keep coming so that the server tries a third delivery
	// and gives up.
	deadline := time.Now().Add(15 * time.Second)
	for env.Count(t, bus.StreamDLQ, "") < uint64(want) && time.Now().Before(deadline) {
		mb, err := cons.Fetch(1, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for range mb.Messages() {
		}
	}
	dlq := env.Messages(t, bus.StreamDLQ, "", want, 10*time.Second)
	if len(dlq) < want {
		select {
		case err := <-errs:
			t.Fatalf("%d dead letters, want %d: %v", len(dlq), want, err)
		default:
			t.Fatalf("%d dead letters, want %d", len(dlq), want)
		}
	}
	return dlq
}

// waitRemoved checks that the dead-lettered message left the work queue.
func waitRemoved(t *testing.T, env *bustest.Env) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for env.Count(t, bus.StreamProc, "") != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := env.Count(t, bus.StreamProc, ""); n != 0 {
		t.Errorf("the poison message is still in the work queue (%d)", n)
	}
}

// TestForgedMaxDeliveriesAdvisory: advisories that the server's state
// contradicts — naming another stream or consumer than their subject, a
// message never delivered or already acknowledged, too few deliveries, or
// arriving as a push consumer's delivery — dead-letter and delete nothing.
func TestForgedMaxDeliveriesAdvisory(t *testing.T) {
	env := bustest.Start(t)
	ctx := ctxT(t)
	pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
	for i := 0; i < 3; i++ {
		if _, err := pub.Publish(ctx, &nats.Msg{Subject: "er.proc.acme.com.acme.order.created", Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.Publish(ctx, &nats.Msg{Subject: "er.t.acme.com.acme.order.created", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, bus.StreamProc, jetstream.ConsumerConfig{
		Durable: "engine", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, MaxDeliver: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Seq 1 delivered and acked, seq 2 delivered and in flight, seq 3 never delivered.
	mb, err := cons.Fetch(2, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	first := true
	for m := range mb.Messages() {
		if first {
			_ = m.DoubleAck(ctx)
			first = false
		}
	}
	errs := make(chan error, 20)
	stop, err := bus.DeadLetterMaxDeliveries(env.JS, pub, bus.StreamProc, "engine", "engine", true, func(err error) { errs <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	subject := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + bus.StreamProc + ".engine"
	forged := []struct {
		name, body, reply string
	}{
		{"another stream", `{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":"` + bustest.TenantStream + `","consumer":"engine","stream_seq":1,"deliveries":5}`, ""},
		{"another consumer", `{"stream":"ER_PROC","consumer":"other","stream_seq":2,"deliveries":5}`, ""},
		{"acknowledged", `{"stream":"ER_PROC","consumer":"engine","stream_seq":1,"deliveries":5}`, ""},
		{"never delivered", `{"stream":"ER_PROC","consumer":"engine","stream_seq":3,"deliveries":5}`, ""},
		{"too few deliveries", `{"stream":"ER_PROC","consumer":"engine","stream_seq":2,"deliveries":1}`, ""},
		{"a push delivery", `{"stream":"ER_PROC","consumer":"engine","stream_seq":2,"deliveries":5}`, "_INBOX.deliveries"},
	}
	for _, f := range forged {
		if err := env.Conn.PublishMsg(&nats.Msg{Subject: subject, Reply: f.reply, Data: []byte(f.body)}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !strings.Contains(err.Error(), "forged") {
				t.Errorf("%s: %v", f.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no refusal reported", f.name)
		}
	}
	if n := env.Count(t, bus.StreamDLQ, ""); n != 0 {
		t.Errorf("%d dead letters from forged advisories", n)
	}
	if n := env.Count(t, bus.StreamProc, ""); n != 2 {
		t.Errorf("ER_PROC holds %d messages, want 2 (seq 2 and 3 untouched)", n)
	}
	if n := env.Count(t, bustest.TenantStream, ""); n != 1 {
		t.Errorf("the tenant stream holds %d messages, want 1", n)
	}
}

func TestTenantOfSubject(t *testing.T) {
	for subj, want := range map[string]string{"er.raw.acme": "acme", "er.proc.acme.com.x": "acme", "er.t": "", "foo.bar.baz": ""} {
		if got := bus.TenantOfSubject(subj); got != want {
			t.Errorf("TenantOfSubject(%q) = %q, want %q", subj, got, want)
		}
	}
}
