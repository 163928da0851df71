package tenantnats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
)

// isolation is the matrix of isolation checks, each run on a fresh
// environment with tenants a and b: on the embedded server
// (TestIsolation) and on a 3-node cluster (TestClusterIsolation).
var isolation = []struct {
	name  string
	check func(*testing.T, *tenantnatstest.Env)
}{
	{"Credentials", checkCredentials},
	{"TenantOwnAccount", checkTenantOwnAccount},
	{"TenantCannotCrossOver", checkTenantCannotCrossOver},
	{"ServerPublishesStayInTheTenantsAccount", checkServerPublishesStayInTheTenantsAccount},
	{"RotationAndDeletionCloseConnections", checkRotationAndDeletionCloseConnections},
	{"Quotas", checkQuotas},
}

func TestIsolation(t *testing.T) {
	for _, c := range isolation {
		t.Run(c.name, func(t *testing.T) { c.check(t, withEvents(t, tenantnatstest.Start(t, "a", "b"))) })
	}
}

// TestClusterIsolation runs the matrix on a 3-node cluster, a fresh one
// per check: the engine on node 0, the callout on node 1, the tenants on
// node 2, every stream R3.
func TestClusterIsolation(t *testing.T) {
	for _, c := range isolation {
		t.Run(c.name, func(t *testing.T) { c.check(t, withEvents(t, tenantnatstest.StartCluster(t, "a", "b"))) })
	}
}

// withEvents puts three processed events into each of tenants a's and b's
// streams, published by the engine.
func withEvents(t *testing.T, e *tenantnatstest.Env) *tenantnatstest.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range []string{"a", "b"} {
		for i := 0; i < 3; i++ {
			if err := e.Publish(ctx, "er.t."+id+".com.acme.order.created", []byte(`{"tenant":"`+id+`"}`)); err != nil {
				t.Fatalf("engine publish into %s's stream: %v", id, err)
			}
		}
	}
	return e
}

func checkCredentials(t *testing.T, e *tenantnatstest.Env) {
	creds, err := e.Keys.TenantCreds("a", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "a.creds")
	b, _ := creds.File()
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	expired, _ := e.Keys.TenantCreds("a", time.Now().Add(-time.Minute))
	tests := []struct {
		name string
		opts []nats.Option
		ok   bool
	}{
		{"own key", tenantnats.ClientOptions("a", e.APIKeys["a"]), true},
		{"creds file", []nats.Option{nats.UserCredentials(file)}, true},
		{"other tenant's key", tenantnats.ClientOptions("a", e.APIKeys["b"]), false},
		{"no password", []nats.Option{nats.UserInfo("a", "")}, false},
		{"unknown tenant", tenantnats.ClientOptions("c", e.APIKeys["a"]), false},
		{"no credentials", nil, false},
		{"token", []nats.Option{nats.Token(e.APIKeys["a"])}, false},
		{"expired creds", expired.Options(), false},
	}
	// Every node: the callout answers on one, logins come to each.
	for _, url := range e.NodeURLs() {
		for _, tt := range tests {
			nc, err := nats.Connect(url, append(tt.opts, nats.MaxReconnects(0), tenantnatstest.ConnectTimeout)...)
			if (err == nil) != tt.ok {
				t.Errorf("%s at %s: connect err = %v, want ok=%v", tt.name, url, err, tt.ok)
			}
			if nc != nil {
				nc.Close()
			}
		}
	}
}

// checkTenantOwnAccount: a tenant uses its account as on any NATS server —
// default inbox prefix, stream list and info, consumers of both kinds,
// account info — and sees only its own.
func checkTenantOwnAccount(t *testing.T, e *tenantnatstest.Env) {
	nc, _ := e.TenantConn(t, "a")
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var names []string
	for n := range js.StreamNames(ctx).Name() {
		names = append(names, n)
	}
	if !slices.Equal(names, []string{tenantnats.StreamName("a")}) {
		t.Errorf("stream ls = %v, want only ER_T_a", names)
	}
	s, err := js.Stream(ctx, tenantnats.StreamName("a"))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 3 {
		t.Errorf("stream info: %d messages, want 3", n)
	}
	ai, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ai.Streams != 1 {
		t.Errorf("account info: %d streams, want 1 (only a's own)", ai.Streams)
	}
	oc, err := js.OrderedConsumer(ctx, tenantnats.StreamName("a"), jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatal(err)
	}
	got := fetch(t, oc, 3, false)
	dc, err := js.CreateOrUpdateConsumer(ctx, tenantnats.StreamName("a"), jetstream.ConsumerConfig{Durable: "mine", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, fetch(t, dc, 3, true)...)
	for _, d := range got {
		if d != `{"tenant":"a"}` {
			t.Fatalf("tenant a read %s", d)
		}
	}
	// Its own core subscription gets the engine's live events, from the
	// engine on every node (a cluster routes the interest asynchronously).
	sub, err := nc.SubscribeSync("er.t.a.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	engines := e.EngineConns(t)
	live := func(i int) string { return fmt.Sprintf("live %d", i) }
	awaitControls(t, len(engines), func(i int) error { return engines[i].Publish("er.t.a.live", []byte(live(i))) },
		func(d time.Duration) (string, bool) {
			m, err := sub.NextMsg(d)
			if err != nil {
				return "", false
			}
			return string(m.Data), true
		}, live)
}

func fetch(t *testing.T, c jetstream.Consumer, n int, ack bool) []string {
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
			if ack {
				if err := m.DoubleAck(context.Background()); err != nil {
					t.Fatalf("ack: %v", err)
				}
			}
		}
	}
	if len(out) != n {
		t.Fatalf("read %d messages, want %d", len(out), n)
	}
	return out
}

// counts is every stream's message count, the engine's and each tenant's.
func counts(t *testing.T, e *tenantnatstest.Env) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]uint64{}
	for _, name := range []string{bus.StreamRaw, bus.StreamProc, bus.StreamDLQ} {
		s, err := e.JS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s.CachedInfo().State.Msgs
	}
	for _, id := range []string{"a", "b"} {
		s, err := e.TenantJS(t, id).Stream(ctx, tenantnats.StreamName(id))
		if err != nil {
			t.Fatalf("tenant %s's stream: %v", id, err)
		}
		out[tenantnats.StreamName(id)] = s.CachedInfo().State.Msgs
	}
	return out
}

// checkTenantCannotCrossOver: tenant a can neither read nor write anything
// of tenant b's or the engine's: core subjects, the JetStream API, $SYS.
func checkTenantCannotCrossOver(t *testing.T, e *tenantnatstest.Env) {
	ctx := context.Background()
	bcons, err := e.TenantJS(t, "b").CreateOrUpdateConsumer(ctx, tenantnats.StreamName("b"), jetstream.ConsumerConfig{Durable: "bdur", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	nc, _ := e.TenantConn(t, "a")
	js, _ := jetstream.New(nc)

	t.Run("subscribe", func(t *testing.T) {
		sub, err := nc.SubscribeSync(">")
		if err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		// Controls into a's own account from every node, before and after
		// the secrets: once the first arrive, a's interest has reached
		// every node, so a secret that does not arrive was not delivered.
		engines := e.EngineConns(t)
		var leaks []string
		control := func(round int) {
			t.Helper()
			awaitControls(t, len(engines), func(i int) error {
				return engines[i].Publish("er.t.a.control", []byte(fmt.Sprintf("control %d/%d", round, i)))
			}, func(d time.Duration) (string, bool) {
				m, err := sub.NextMsg(d)
				if err != nil {
					return "", false
				}
				if !strings.HasPrefix(string(m.Data), "control ") {
					leaks = append(leaks, fmt.Sprintf("%s %q", m.Subject, m.Data))
					return "", true
				}
				return string(m.Data), true
			}, func(i int) string { return fmt.Sprintf("control %d/%d", round, i) })
		}
		control(1)
		for _, engine := range engines {
			for _, subj := range []string{"er.t.b.leak", "er.proc.b.com.acme.x", "er.raw.b", "er.dlq.b", "er.out.b.c", "_INBOX.x"} {
				if err := engine.Publish(subj, []byte("secret")); err != nil {
					t.Fatal(err)
				}
			}
			engine.Flush()
		}
		control(2)
		for {
			m, err := sub.NextMsg(300 * time.Millisecond)
			if err != nil {
				break
			}
			if !strings.HasPrefix(string(m.Data), "control ") {
				leaks = append(leaks, fmt.Sprintf("%s %q", m.Subject, m.Data))
			}
		}
		for _, l := range leaks {
			t.Errorf("tenant a's wildcard subscription received %s", l)
		}
	})
	t.Run("jetstream", func(t *testing.T) {
		for _, stream := range []string{tenantnats.StreamName("b"), bus.StreamDLQ, bus.StreamProc, bus.StreamRaw} {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if _, err := js.Stream(cctx, stream); !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Errorf("stream %s from tenant a: err = %v, want not found", stream, err)
			}
			if _, err := js.CreateOrUpdateConsumer(cctx, stream, jetstream.ConsumerConfig{}); err == nil {
				t.Errorf("created a consumer on %s", stream)
			}
			cancel()
		}
		if _, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT."+tenantnats.StreamName("b")+".bdur", []byte(`{"batch":1,"expires":500000000}`), time.Second); err == nil {
			t.Error("fetched from b's consumer")
		}
		if info, _ := bcons.Info(ctx); info.Delivered.Consumer != 0 || info.NumAckPending != 0 {
			t.Errorf("b's consumer was touched: %+v", info)
		}
	})
	t.Run("system", func(t *testing.T) {
		for _, subj := range []string{"$SYS.REQ.SERVER.PING", "$SYS.REQ.ACCOUNT." + tenantnats.Public(e.Keys.Engine()) + ".CONNZ",
			"$SYS.REQ.ACCOUNT." + tenantnats.Public(e.Keys.Tenant("b")) + ".JSZ", "$SYS.REQ.CLAIMS.LIST"} {
			if m, err := nc.Request(subj, nil, 500*time.Millisecond); err == nil {
				t.Errorf("request %s answered: %.200s", subj, m.Data)
			}
		}
		// The system requests every account imports are answered, by every
		// node, about a's own account only: with b and the engine connected
		// to every node, the nodes count a's one connection.
		for _, url := range e.NodeURLs() {
			bc, err := nats.Connect(url, append(tenantnats.ClientOptions("b", e.APIKeys["b"]), tenantnatstest.ConnectTimeout)...)
			if err != nil {
				t.Fatal(err)
			}
			defer bc.Close()
		}
		others := []string{tenantnats.Public(e.Keys.Engine()), tenantnats.Public(e.Keys.Tenant("b")),
			tenantnats.Public(e.Keys.System()), tenantnats.Public(e.Keys.Auth())}
		for _, subj := range []string{"$SYS.REQ.ACCOUNT.PING.CONNZ", "$SYS.REQ.SERVER.PING.CONNZ", "$SYS.REQ.ACCOUNT.PING.STATZ", "$SYS.REQ.USER.INFO"} {
			answers := gather(t, nc, subj, `{"accounts":true,"subscriptions":true}`)
			conns := 0
			for _, m := range answers {
				for _, other := range others {
					if bytes.Contains(m, []byte(other)) {
						t.Errorf("%s from tenant a names account %s: %.300s", subj, other, m)
					}
				}
				var res struct {
					Data struct {
						NumConnections int `json:"num_connections"`
					} `json:"data"`
				}
				_ = json.Unmarshal(m, &res)
				conns += res.Data.NumConnections
			}
			if len(answers) == 0 {
				t.Errorf("%s from tenant a: no answer, want its own account's", subj)
			}
			if strings.HasSuffix(subj, "CONNZ") && conns != 1 {
				t.Errorf("%s from tenant a: %d connections over %d answers, want a's 1", subj, conns, len(answers))
			}
		}
	})
	t.Run("publish", func(t *testing.T) {
		before := counts(t, e)
		for _, subj := range []string{"er.proc.a.com.acme.order.created", "er.proc.b.com.acme.order.created", "er.t.a.x", "er.t.b.x",
			"er.raw.b", "er.dlq.a", "er.dlq.b", "er.out.a.c", "er.out.b.c", "er.tdlq.b", "er.js.b.STREAM.PURGE." + tenantnats.StreamName("b")} {
			nc.Publish(subj, []byte(`{}`))
		}
		nc.Flush()
		for _, subj := range []string{"$JS.API.STREAM.PURGE." + tenantnats.StreamName("a"), "$JS.API.STREAM.DELETE." + tenantnats.StreamName("a"),
			"$JS.API.STREAM.UPDATE." + tenantnats.StreamName("a")} {
			if _, err := nc.Request(subj, []byte(`{}`), 500*time.Millisecond); err == nil {
				t.Errorf("tenant a's request %s was answered", subj)
			}
		}
		// Its own er.raw subjects reach the engine: the tenant is a NATS producer.
		if ack, err := js.Publish(ctx, "er.raw.a", []byte(`{"n":1}`)); err != nil || ack.Stream != bus.StreamRaw {
			t.Errorf("publish to own er.raw: %v %+v", err, ack)
		}
		if ack, err := js.Publish(ctx, "er.raw.a.com.acme.order.created", []byte(`{"n":2}`)); err != nil || ack.Stream != bus.StreamRaw {
			t.Errorf("publish to own er.raw by type: %v %+v", err, ack)
		}
		after := counts(t, e)
		before[bus.StreamRaw] += 2
		for name, n := range before {
			if after[name] != n {
				t.Errorf("stream %s: %d messages, want %d", name, after[name], n)
			}
		}
		raw := lastMsg(t, e.JS, bus.StreamRaw)
		if raw.Subject != "er.raw.a.com.acme.order.created" {
			t.Errorf("raw event stored on %s", raw.Subject)
		}
	})
}

// gather sends a request and returns every answer that came within a
// quiet 250 ms (each node of a cluster may answer).
func gather(t *testing.T, nc *nats.Conn, subj, data string) [][]byte {
	t.Helper()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(subj, inbox, []byte(data)); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		m, err := sub.NextMsg(250 * time.Millisecond)
		if err != nil {
			return out
		}
		out = append(out, m.Data)
	}
}

func lastMsg(t *testing.T, js jetstream.JetStream, stream string) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(context.Background(), ">")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkServerPublishesStayInTheTenantsAccount covers the tricks that make
// the server publish on a tenant's behalf — a push consumer's deliver
// subject, a request's reply subject, a stream's republish — aimed at the
// subjects the engine listens on or writes to: whatever the server sends
// stays in the tenant's own account.
func checkServerPublishesStayInTheTenantsAccount(t *testing.T, e *tenantnatstest.Env) {
	ctx := context.Background()
	targets := []string{
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + bus.StreamProc + ".engine",
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + bus.StreamRaw + ".runner",
		"er.proc.b.com.acme.order.created",
		"er.t.b.com.acme.order.created",
		bus.AckPrefix + ".b.x.1", // the engine's PubAcks of b's events
		"er.raw.b",
		"er.dlq.b",
		"$JS.API.STREAM.DELETE." + tenantnats.StreamName("b"),
		"$JS.API.STREAM.PURGE." + bus.StreamProc,
		"$KV.ER_TENANTS.b",
	}
	// The engine's view: nothing may arrive on any of these subjects,
	// neither at a wildcard subscription nor at the engine's own
	// max-deliveries advisory handlers, which would report any advisory
	// they were given (a forged one as forged).
	engineSub, err := e.Engine.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan error, 1000)
	pub := bus.NewPublisher(e.JS, bus.PublisherOptions{})
	for _, sc := range [][2]string{{bus.StreamProc, "engine"}, {bus.StreamRaw, "runner"}} {
		stop, err := bus.DeadLetterMaxDeliveries(e.JS, pub, sc[0], sc[1], "test", false, func(err error) { handled <- err })
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	e.Engine.Flush()
	var leaks []string
	controls := engineControls(t, e, targets[0], engineSub, handled, targets, &leaks)
	controls(1)
	before := counts(t, e)
	nc, _ := e.TenantConn(t, "a")
	for i, target := range targets {
		cfg, _ := json.Marshal(map[string]any{"stream_name": tenantnats.StreamName("a"), "config": map[string]any{
			"durable_name": "push" + string(rune('a'+i)), "deliver_subject": target, "ack_policy": "none", "deliver_policy": "all"}})
		m, err := nc.Request("$JS.API.CONSUMER.DURABLE.CREATE."+tenantnats.StreamName("a")+".push"+string(rune('a'+i)), cfg, 2*time.Second)
		if err != nil {
			t.Fatalf("push consumer delivering to %s: %v", target, err)
		}
		var res struct{ Error *struct{ Description string } }
		_ = json.Unmarshal(m.Data, &res)
		if res.Error != nil {
			t.Logf("push consumer to %s refused: %s", target, res.Error.Description)
		}
		// Reply subjects: a PubAck and a JetStream API answer sent there.
		if err := nc.PublishRequest("er.raw.a", target, []byte(`{"forged":true}`)); err != nil {
			t.Fatal(err)
		}
		if err := nc.PublishRequest("$JS.API.STREAM.INFO."+tenantnats.StreamName("a"), target, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A stream of its own that republishes into the targets.
	ajs, _ := jetstream.New(nc)
	for i, target := range targets[:4] {
		subj := "mine." + string(rune('a'+i))
		_, err := ajs.CreateStream(ctx, jetstream.StreamConfig{Name: "REPUB" + string(rune('A'+i)), Subjects: []string{subj},
			RePublish: &jetstream.RePublish{Source: subj, Destination: target}})
		if err != nil {
			t.Logf("republish stream to %s refused: %v", target, err)
			continue
		}
		if _, err := ajs.Publish(ctx, "mine."+string(rune('a'+i)), []byte(`{"forged":true}`)); err != nil {
			t.Fatal(err)
		}
	}
	// Sourcing or mirroring the engine's streams or b's, by any API prefix.
	for _, src := range []*jetstream.StreamSource{{Name: bus.StreamProc}, {Name: tenantnats.StreamName("b")},
		{Name: bus.StreamDLQ, External: &jetstream.ExternalStream{APIPrefix: "er.js.b"}}} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := ajs.CreateStream(cctx, jetstream.StreamConfig{Name: "SRC", Sources: []*jetstream.StreamSource{src}})
		cancel()
		if err == nil {
			time.Sleep(500 * time.Millisecond)
			if info, _ := s.Info(ctx); info != nil && info.State.Msgs > 0 {
				t.Errorf("a's stream sourcing %s got %d messages", src.Name, info.State.Msgs)
			}
			_ = ajs.DeleteStream(ctx, "SRC")
		}
	}
	time.Sleep(500 * time.Millisecond)
	controls(2)
	for {
		m, err := engineSub.NextMsg(300 * time.Millisecond)
		if err != nil {
			break
		}
		classifyEngineMsg(m, targets, &leaks)
	}
	for len(handled) > 0 {
		classifyHandled(<-handled, &leaks)
	}
	for _, l := range leaks {
		t.Errorf("the engine's account received %s", l)
	}
	after := counts(t, e)
	before[bus.StreamRaw] += uint64(len(targets)) // the forged raw events themselves, as a's
	for name, n := range before {
		if after[name] != n {
			t.Errorf("stream %s: %d messages, want %d", name, after[name], n)
		}
	}
}

// engineControls returns a function that sends, from an engine connection
// on every node, a max-deliveries advisory to subject (one of the engine
// handlers' subjects, naming a consumer that does not exist) until both
// the engine's wildcard subscription sub and its advisory handler
// (reporting to handled) got each. Anything else that arrives meanwhile
// on one of targets, or at the handler, is recorded in leaks.
func engineControls(t *testing.T, e *tenantnatstest.Env, subject string, sub *nats.Subscription, handled chan error, targets []string, leaks *[]string) func(round int) {
	engines := e.EngineConns(t)
	seq := func(round, i int) int { return 1000*round + i }
	return func(round int) {
		t.Helper()
		send := func(i int) error {
			return engines[i].Publish(subject, []byte(fmt.Sprintf(`{"control":true,"stream":%q,"consumer":"engine","stream_seq":%d,"deliveries":5}`, bus.StreamProc, seq(round, i))))
		}
		awaitControls(t, len(engines), send, func(d time.Duration) (string, bool) {
			m, err := sub.NextMsg(d)
			if err != nil {
				return "", false
			}
			return classifyEngineMsg(m, targets, leaks), true
		}, func(i int) string { return fmt.Sprintf(`"stream_seq":%d`, seq(round, i)) })
		awaitControls(t, len(engines), send, func(d time.Duration) (string, bool) {
			select {
			case err := <-handled:
				return classifyHandled(err, leaks), true
			case <-time.After(d):
				return "", false
			}
		}, func(i int) string { return fmt.Sprintf("%s/%d:", bus.StreamProc, seq(round, i)) })
	}
}

var controlSeq = regexp.MustCompile(`"stream_seq":\d+`)

// classifyEngineMsg returns a control message's mark, and records any
// other message on one of targets as a leak.
func classifyEngineMsg(m *nats.Msg, targets []string, leaks *[]string) string {
	if bytes.Contains(m.Data, []byte(`"control":true`)) {
		return controlSeq.FindString(string(m.Data))
	}
	if slices.Contains(targets, m.Subject) {
		*leaks = append(*leaks, fmt.Sprintf("%s: %.200s", m.Subject, m.Data))
	}
	return ""
}

var handledSeq = regexp.MustCompile(bus.StreamProc + `/\d+:`)

// classifyHandled returns a control's mark from the advisory handler's
// report of it (the consumer it names does not exist), and records any
// other report as a leak.
func classifyHandled(err error, leaks *[]string) string {
	if mark := handledSeq.FindString(err.Error()); mark != "" && strings.Contains(err.Error(), "consumer not found") {
		return mark
	}
	*leaks = append(*leaks, "an advisory at its handler: "+err.Error())
	return ""
}

// checkRotationAndDeletionCloseConnections: revoking a key closes the
// connections it opened (and only those), deleting a tenant closes all of
// its connections, each within a second of the change, on every node.
func checkRotationAndDeletionCloseConnections(t *testing.T, e *tenantnatstest.Env) {
	second := tenant.NewKey()
	ta, _ := e.Registry.Get("a")
	ta.KeyHashes = append(ta.KeyHashes, tenant.HashKey(second))
	e.Put(t, ta)
	creds, _ := e.Keys.TenantCreds("a", time.Time{})
	// Per node, a connection with each: the key to revoke, the key that
	// stays, the creds file.
	var oldKey, newKey, credsConn []conn
	for _, url := range e.NodeURLs() {
		oldKey = append(oldKey, closable(t, url, tenantnats.ClientOptions("a", e.APIKeys["a"])...))
		newKey = append(newKey, closable(t, url, tenantnats.ClientOptions("a", second)...))
		credsConn = append(credsConn, closable(t, url, creds.Options()...))
	}

	ta.KeyHashes = []string{tenant.HashKey(second)} // rotate the first key out
	changed := nextSecond()
	e.Put(t, ta)
	for _, c := range oldKey {
		waitClosed(t, c, changed, "the revoked key's connection")
	}
	select {
	case <-anyClosed(newKey):
		t.Error("a connection of the key that stays was closed")
	case <-anyClosed(credsConn):
		t.Error("a creds connection was closed by a key rotation")
	case <-time.After(300 * time.Millisecond):
	}
	for _, url := range e.NodeURLs() {
		if nc, err := nats.Connect(url, append(tenantnats.ClientOptions("a", e.APIKeys["a"]), nats.MaxReconnects(0), tenantnatstest.ConnectTimeout)...); err == nil {
			nc.Close()
			t.Errorf("the revoked key still logs in at %s", url)
		}
	}

	changed = nextSecond()
	e.Remove(t, "a")
	for _, c := range append(newKey, credsConn...) {
		waitClosed(t, c, changed, "the deleted tenant's connection")
	}
	for _, url := range e.NodeURLs() {
		if nc, err := nats.Connect(url, append(creds.Options(), nats.MaxReconnects(0), tenantnatstest.ConnectTimeout)...); err == nil {
			nc.Close()
			t.Errorf("the deleted tenant's creds still log in at %s", url)
		}
	}
}

// conn is a connection and the channel its closing closes.
type conn struct {
	url    string
	closed chan struct{}
}

func closable(t *testing.T, url string, opts ...nats.Option) conn {
	t.Helper()
	c := conn{url: url, closed: make(chan struct{})}
	nc, err := nats.Connect(url, append(opts, nats.NoReconnect(), tenantnatstest.ConnectTimeout,
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return c
}

// anyClosed is closed as soon as one of cs is.
func anyClosed(cs []conn) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	for _, c := range cs {
		go func() {
			select {
			case <-c.closed:
				once.Do(func() { close(ch) })
			case <-ch:
			}
		}()
	}
	return ch
}

// nextSecond waits for the next second to begin and returns the time. A
// resolver keeps the newer of two account JWTs by issue second, so a
// change in the second of the account's last one waits for the next
// (Accounts.push): starting at a new second measures the change itself,
// not that wait.
func nextSecond() time.Time {
	next := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(next))
	return time.Now()
}

// waitClosed fails the test unless c is closed within a second of
// changed, when the change was made (e.Put or e.Remove called).
func waitClosed(t *testing.T, c conn, changed time.Time, what string) {
	t.Helper()
	select {
	case <-c.closed:
		t.Logf("%s at %s closed %v after the change", what, c.url, time.Since(changed).Round(time.Millisecond))
	case <-time.After(time.Until(changed.Add(time.Second))):
		t.Errorf("%s at %s is still open a second after the change", what, c.url)
	}
}

// awaitControls sends control message i (send) from each of n sources
// until read has returned want(i) for every one, or fails the test after
// 10 s. read waits up to d for the next message: its text, or ok=false
// when none came. Controls prove that interest has propagated (a cluster
// routes subscriptions asynchronously), so that checks that nothing
// arrived are not vacuous.
func awaitControls(t *testing.T, n int, send func(i int) error, read func(d time.Duration) (string, bool), want func(i int) string) {
	t.Helper()
	seen := map[string]bool{}
	missing := func() []int {
		var out []int
		for i := range n {
			if !seen[want(i)] {
				out = append(out, i)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			t.Fatalf("controls from sources %v never arrived", m)
		}
		for _, i := range m {
			if err := send(i); err != nil {
				t.Fatal(err)
			}
		}
		for {
			msg, ok := read(100 * time.Millisecond)
			if !ok {
				break
			}
			seen[msg] = true
		}
	}
}
