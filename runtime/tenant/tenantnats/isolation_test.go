package tenantnats

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// env is an embedded server with Auth, the engine's streams, and tenants a
// and b with their streams and a few processed events each.
type env struct {
	srv        *bus.Server
	engine     *nats.Conn
	js         jetstream.JetStream
	keyA, keyB string
	reg        *tenant.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{reg: tenant.NewRegistry(), keyA: tenant.NewKey(), keyB: tenant.NewKey()}
	e.reg.Add(tenant.Tenant{ID: "a", KeyHashes: []string{tenant.HashKey(e.keyA)}})
	e.reg.Add(tenant.Tenant{ID: "b", KeyHashes: []string{tenant.HashKey(e.keyB)}})
	srv, err := bus.StartEmbedded(bus.Options{DataDir: t.TempDir(), Auth: NewAuth(e.reg, "engine-pw")})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	t.Cleanup(srv.Shutdown)
	if _, err := nats.Connect(srv.ClientURL()); err == nil {
		t.Fatal("an anonymous client connected")
	}
	e.engine, err = nats.Connect(srv.ClientURL(), nats.UserInfo(EngineUser, "engine-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.engine.Close)
	e.js, _ = jetstream.New(e.engine)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, e.js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		tn, _ := e.reg.Get(id)
		if err := EnsureStream(ctx, e.js, tn); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if _, err := e.js.Publish(ctx, "er.t."+id+".com.acme.order.created", []byte(`{"tenant":"`+id+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitMsgs(t, e.js, StreamName("a"), 3)
	waitMsgs(t, e.js, StreamName("b"), 3)
	return e
}

// waitMsgs waits (bounded) until stream holds n messages.
func waitMsgs(t *testing.T, js jetstream.JetStream, stream string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := js.Stream(context.Background(), stream)
		if err == nil && s.CachedInfo().State.Msgs >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: fewer than %d messages after 10s (%v)", stream, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tenantConn connects as a tenant and records the server's asynchronous
// errors (permission violations).
func (e *env) tenantConn(t *testing.T, id, key string) (*nats.Conn, *errLog) {
	t.Helper()
	log := &errLog{}
	nc, err := nats.Connect(e.srv.ClientURL(), append(ClientOptions(id, key),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.add(err) }))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, log
}

type errLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errLog) add(err error) { l.mu.Lock(); l.errs = append(l.errs, err.Error()); l.mu.Unlock() }

// waitFor waits (bounded) for an error containing s.
func (l *errLog) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, e := range l.errs {
			if strings.Contains(e, s) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("no error containing %q; got %q", s, l.errs)
}

func TestCredentials(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, user, pass string
		ok               bool
	}{
		{"own key", "a", e.keyA, true},
		{"other tenant's key", "a", e.keyB, false},
		{"no password", "a", "", false},
		{"unknown tenant", "c", e.keyA, false},
		{"engine user, tenant key", EngineUser, e.keyA, false},
		{"engine user, wrong password", EngineUser, "nope", false},
	}
	for _, tt := range tests {
		nc, err := nats.Connect(e.srv.ClientURL(), nats.UserInfo(tt.user, tt.pass))
		if (err == nil) != tt.ok {
			t.Errorf("%s: connect err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if nc != nil {
			nc.Close()
		}
	}
}

func TestTenantReadsOwnStream(t *testing.T) {
	e := newEnv(t)
	nc, _ := e.tenantConn(t, "a", e.keyA)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// An ordered consumer (what `eventrunner tail` uses) and a durable pull
	// consumer with explicit acks (what a long-running client uses).
	oc, err := js.OrderedConsumer(ctx, StreamName("a"), jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatal(err)
	}
	got := fetchAll(t, oc, 3)
	dc, err := js.CreateOrUpdateConsumer(ctx, StreamName("a"), jetstream.ConsumerConfig{Durable: "mine", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "er.t.a.>"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := dc.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		got = append(got, string(m.Data()))
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	if len(got) != 6 {
		t.Fatalf("read %d events, want 6: %q", len(got), got)
	}
	for _, d := range got {
		if d != `{"tenant":"a"}` {
			t.Fatalf("tenant a read %s", d)
		}
	}
	// A core subscription to its own subjects works too.
	sub, err := nc.SubscribeSync("er.t.a.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	e.engine.Publish("er.t.a.live", []byte("live"))
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "live" {
		t.Fatalf("own core subscription: %v", err)
	}
}

func fetchAll(t *testing.T, c jetstream.Consumer, n int) []string {
	t.Helper()
	var out []string
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		msgs, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range msgs.Messages() {
			out = append(out, string(m.Data()))
		}
	}
	return out
}

// TestTenantCannotCrossOver: tenant a cannot subscribe to, create a consumer
// on, or fetch from tenant b's events (nor snoop on inboxes), and cannot
// publish into the engine's subjects.
func TestTenantCannotCrossOver(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// b's own durable consumer, which a will try to fetch from by name.
	if _, err := e.js.CreateOrUpdateConsumer(ctx, StreamName("b"), jetstream.ConsumerConfig{Durable: "bdur", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	nc, log := e.tenantConn(t, "a", e.keyA)
	js, _ := jetstream.New(nc)

	t.Run("subscribe", func(t *testing.T) {
		for _, subj := range []string{"er.t.b.>", "er.t.>", ">", "_INBOX.>", "_INBOX_b.>", "er.out.b.>", "$JS.ACK.ER_T_b.>", "er.proc.>"} {
			sub, err := nc.SubscribeSync(subj)
			if err != nil {
				t.Fatal(err)
			}
			nc.Flush()
			log.waitFor(t, `Permissions Violation for Subscription to "`+subj+`"`)
			e.engine.Publish("er.t.b.leak", []byte("secret"))
			e.engine.Flush()
			if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
				t.Errorf("subscription to %s received %s", subj, m.Data)
			}
			sub.Unsubscribe()
		}
	})
	t.Run("create consumer", func(t *testing.T) {
		tries := []struct {
			stream string
			cfg    jetstream.ConsumerConfig
		}{
			{StreamName("b"), jetstream.ConsumerConfig{}},
			{StreamName("b"), jetstream.ConsumerConfig{Durable: "x", FilterSubject: "er.t.b.>"}},
			{bus.StreamDLQ, jetstream.ConsumerConfig{FilterSubject: "er.dlq.b"}},
			{bus.StreamDLQ, jetstream.ConsumerConfig{FilterSubject: "er.dlq.a"}},
			{bus.StreamProc, jetstream.ConsumerConfig{}},
			{bus.StreamRaw, jetstream.ConsumerConfig{}},
		}
		for _, tr := range tries {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := js.CreateOrUpdateConsumer(cctx, tr.stream, tr.cfg)
			cancel()
			if err == nil {
				t.Errorf("created a consumer on %s with %+v", tr.stream, tr.cfg)
			}
		}
		// A filter naming its own subjects on b's stream does not help either.
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := js.OrderedConsumer(cctx, StreamName("b"), jetstream.OrderedConsumerConfig{FilterSubjects: []string{"er.t.a.>"}}); err == nil {
			if c, _ := js.OrderedConsumer(cctx, StreamName("b"), jetstream.OrderedConsumerConfig{}); c != nil {
				if _, err := c.Fetch(1, jetstream.FetchMaxWait(500*time.Millisecond)); err == nil {
					t.Error("ordered consumer on b's stream worked")
				}
			}
		}
	})
	t.Run("fetch", func(t *testing.T) {
		// The raw JetStream API request a client would make to pull from
		// b's consumer: denied, no message comes back.
		_, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT."+StreamName("b")+".bdur", []byte(`{"batch":1,"expires":500000000}`), time.Second)
		if err == nil {
			t.Error("fetched from b's consumer")
		}
		log.waitFor(t, `Permissions Violation for Publish to "$JS.API.CONSUMER.MSG.NEXT.ER_T_b.bdur"`)
		for _, subj := range []string{"$JS.API.STREAM.MSG.GET." + StreamName("b"), "$JS.API.DIRECT.GET." + StreamName("b"), "$JS.API.STREAM.INFO." + bus.StreamDLQ} {
			if _, err := nc.Request(subj, []byte(`{"seq":1}`), 500*time.Millisecond); err == nil {
				t.Errorf("request to %s answered", subj)
			}
		}
		cons, _ := e.js.Consumer(ctx, StreamName("b"), "bdur")
		if info, _ := cons.Info(ctx); info.Delivered.Consumer != 0 || info.NumAckPending != 0 {
			t.Errorf("b's consumer was touched: %+v", info)
		}
	})
	t.Run("publish", func(t *testing.T) {
		before := streamMsgs(t, e.js)
		for _, subj := range []string{"er.proc.a.com.acme.order.created", "er.t.a.x", "er.t.b.x", "er.raw.b", "er.dlq.a", "er.out.a.c", "er.out.b.c", "$JS.API.STREAM.CREATE.EVIL", "$JS.API.STREAM.PURGE." + StreamName("b"), "$JS.API.STREAM.DELETE." + StreamName("a")} {
			nc.Publish(subj, []byte(`{}`))
			nc.Flush()
			log.waitFor(t, `Permissions Violation for Publish to "`+subj+`"`)
		}
		// Its own er.raw subject is allowed: the tenant is a NATS producer.
		if _, err := js.Publish(ctx, "er.raw.a", []byte(`{"n":1}`)); err != nil {
			t.Errorf("publish to own er.raw: %v", err)
		}
		after := streamMsgs(t, e.js)
		before[bus.StreamRaw]++
		for name, n := range before {
			if after[name] != n {
				t.Errorf("stream %s: %d messages, want %d", name, after[name], n)
			}
		}
	})
}

func streamMsgs(t *testing.T, js jetstream.JetStream) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, name := range []string{bus.StreamRaw, bus.StreamProc, bus.StreamDLQ, StreamName("a"), StreamName("b")} {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s.CachedInfo().State.Msgs
	}
	return out
}

func TestStreamLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := tenant.Tenant{ID: "a", Retention: tenant.Duration(time.Hour), MaxBytes: 1 << 20}
	if err := EnsureStream(ctx, e.js, tn); err != nil {
		t.Fatal(err)
	}
	s, _ := e.js.Stream(ctx, StreamName("a"))
	if c := s.CachedInfo().Config; c.MaxAge != time.Hour || c.MaxBytes != 1<<20 {
		t.Fatalf("limits not applied: %v %d", c.MaxAge, c.MaxBytes)
	}
	if err := DeleteStream(ctx, e.js, "a"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteStream(ctx, e.js, "a"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := e.js.Stream(ctx, StreamName("a")); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("stream still there: %v", err)
	}
}
