package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// engineJS connects to serve's NATS as the engine, with the credentials
// derived from the operator seed in its data directory (the test's view
// behind the scenes; tenants have no such access).
func engineJS(t *testing.T, s *server, dataDir string) jetstream.JetStream {
	t.Helper()
	keys, err := tenantnats.ReadKeys(filepath.Join(dataDir, "nats", "operator.nk"))
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := keys.EngineCreds()
	nc, err := nats.Connect(s.natsURL, creds.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return js
}

// TestServeForgedAdvisoryBreach replays the reported attack
// (forgedAdvisoryAttack) against serve on its embedded server.
func TestServeForgedAdvisoryBreach(t *testing.T) {
	dir := t.TempDir()
	victim := createTenant(t, "victim", "--data-dir", dir)
	evil := createTenant(t, "evil", "--data-dir", dir)
	s := startServer(t, dir)
	forgedAdvisoryAttack(t, s, s.natsURL, engineJS(t, s, dir), victim, evil)
	s.stop(t)
}

// TestServeForgedAdvisoryBreachOnCluster replays the same attack against
// serve on a real 3-node NATS cluster whose operator is eventrunner's
// (tenant accounts pushed to every node's resolver), streams R3.
func TestServeForgedAdvisoryBreachOnCluster(t *testing.T) {
	c, seed, keys := operatorCluster(t)
	s := startServer(t, t.TempDir(), "--nats-url", c.ConnectURL(), "--nats-operator-key", seed, "--nats-replicas", "3", "--admin-key", clusterAdminKey)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve:\n%s", s.stderr)
		}
	})
	victim := adminCreate(t, s, "victim")
	evil := adminCreate(t, s, "evil")
	forgedAdvisoryAttack(t, s, c.ConnectURL(), engineJetStream(t, c, keys), victim, evil)
	s.stop(t)
}

// forgedAdvisoryAttack is the reported attack against s (serve, its NATS
// at natsURL; engine is the test's view as the engine): tenant evil
// publishes a forged max-deliveries advisory naming victim's stream as a
// raw event (it is dead-lettered into evil's own stream), then creates
// push consumers on its stream delivering to the subjects of the engine's
// and the runner's advisory handlers. Before tenants had accounts, the
// engine took the delivery for the server's advisory, copied victim's
// message to the DLQ and deleted it. Now the delivery stays in evil's
// account: nothing reaches the engine's advisory subjects, victim's message
// stays, victim has no dead letter and the engine logs nothing about it.
func forgedAdvisoryAttack(t *testing.T, s *server, natsURL string, engine jetstream.JetStream, victim, evil tenant.Secrets) {
	t.Helper()
	// A 503 (streams still electing leaders on a fresh cluster) is retried
	// as a producer would.
	waitStatus(t, "victim's event to be accepted", 202, func() int {
		code, _, _ := request(t, "POST", s.httpURL+"/v1/events", victim.APIKey, "application/cloudevents+json", iotEvent("victim-1", 70))
		return code
	})
	waitGet(t, s.httpURL+"/v1/events/victim-1", victim.APIKey)
	vnc, err := nats.Connect(natsURL, tenantnats.ClientOptions(victim.Tenant, victim.APIKey)...)
	if err != nil {
		t.Fatal(err)
	}
	defer vnc.Close()
	vjs, _ := jetstream.New(vnc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	victimMsgs := func() uint64 {
		st, err := vjs.Stream(ctx, tenantnats.StreamName(victim.Tenant))
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().State.Msgs
	}
	for deadline := time.Now().Add(10 * time.Second); victimMsgs() != 1 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if n := victimMsgs(); n != 1 {
		t.Fatalf("victim's stream holds %d messages, want 1", n)
	}
	// What the engine's account sees on the advisory subjects (its handlers
	// subscribe there): the server's own advisories only, none naming victim.
	advisories, err := engine.Conn().SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>")
	if err != nil {
		t.Fatal(err)
	}
	defer advisories.Unsubscribe()
	if err := engine.Conn().Flush(); err != nil {
		t.Fatal(err)
	}

	enc, err := nats.Connect(natsURL, tenantnats.ClientOptions(evil.Tenant, evil.APIKey)...)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ejs, _ := jetstream.New(enc)
	evilStream := tenantnats.StreamName(evil.Tenant)
	advisory := `{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x","timestamp":"2026-12-01T00:00:00Z","stream":"` +
		tenantnats.StreamName(victim.Tenant) + `","consumer":"engine","stream_seq":1,"deliveries":5}`
	if _, err := ejs.Publish(ctx, "er.raw."+evil.Tenant, []byte(advisory)); err != nil {
		t.Fatal(err)
	}
	// The forged advisory comes back as evil's own dead letter.
	dl, err := ejs.OrderedConsumer(ctx, evilStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"er.dlq." + evil.Tenant}})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := dl.Next(jetstream.FetchMaxWait(30 * time.Second)); err != nil || !strings.Contains(string(m.Data()), "max_deliver") {
		t.Fatalf("evil's dead letter: %v", err)
	}
	for i, deliver := range []string{
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + bus.StreamProc + ".engine",
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + bus.StreamRaw + ".runner",
	} {
		name := "evil" + string(rune('a'+i))
		req, _ := json.Marshal(map[string]any{"stream_name": evilStream, "config": map[string]any{
			"durable_name": name, "deliver_subject": deliver, "filter_subject": "er.dlq." + evil.Tenant, "ack_policy": "none", "deliver_policy": "all"}})
		m, err := enc.Request("$JS.API.CONSUMER.DURABLE.CREATE."+evilStream+"."+name, req, 10*time.Second)
		if err != nil || strings.Contains(string(m.Data), `"error"`) {
			t.Fatalf("evil's push consumer: %v %s", err, m.Data)
		}
	}
	// Had the deliveries crossed into the engine's account, they would
	// have arrived and been acted on by now.
	time.Sleep(3 * time.Second)
	for {
		m, err := advisories.NextMsg(10 * time.Millisecond)
		if err != nil {
			break
		}
		if strings.Contains(string(m.Data), tenantnats.StreamName(victim.Tenant)) || strings.Contains(string(m.Data), `"id":"x"`) {
			t.Errorf("the forgery reached the engine's account on %s: %s", m.Subject, m.Data)
		}
	}
	if n := victimMsgs(); n != 1 {
		t.Errorf("victim's stream holds %d messages, want 1", n)
	}
	if st, err := vjs.Stream(ctx, tenantnats.StreamName(victim.Tenant)); err != nil {
		t.Error(err)
	} else if _, err := st.GetMsg(ctx, 1); err != nil {
		t.Errorf("victim's message 1: %v", err)
	}
	dlq, err := engine.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := dlq.GetLastMsgForSubject(ctx, "er.dlq."+victim.Tenant); err == nil {
		t.Errorf("victim has a dead letter: %v %s", m.Header, m.Data)
	}
	if strings.Contains(s.stderr.String(), "dead-letter") && strings.Contains(s.stderr.String(), victim.Tenant) {
		t.Errorf("the engine acted on the forgery:\n%s", s.stderr)
	}
}

// TestServeUpgradesToAccounts starts serve on a data directory written
// before tenants had accounts (every stream in the server's one account,
// the tenant stream sourcing its dead letters from ER_DLQ): the streams
// move into their accounts, the tenants file and API keys keep working,
// the tenant reads its old events and dead letters (each once) and new
// ones.
func TestServeUpgradesToAccounts(t *testing.T) {
	dir := t.TempDir()
	acme := createTenant(t, "acme", "--data-dir", dir)
	writeSharedAccountData(t, filepath.Join(dir, "nats"), "acme")

	s := startServer(t, dir)
	if code, _, b := request(t, "POST", s.httpURL+"/v1/events", acme.APIKey, "application/cloudevents+json", iotEvent("acme-new", 70)); code != 202 {
		t.Fatalf("post after the upgrade: %d %s\n%s", code, b, s.stderr)
	}
	waitGet(t, s.httpURL+"/v1/events/acme-new", acme.APIKey)
	nc, err := nats.Connect(s.natsURL, tenantnats.ClientOptions("acme", acme.APIKey)...)
	if err != nil {
		t.Fatalf("the old API key logs in: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, tenantnats.StreamName("acme"), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for deadline := time.Now().Add(20 * time.Second); len(seen) < 4 && time.Now().Before(deadline); {
		mb, err := cons.Fetch(100, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range mb.Messages() {
			var ev struct{ ID string }
			_ = json.Unmarshal(m.Data(), &ev)
			seen[m.Subject()+" "+ev.ID]++
		}
	}
	time.Sleep(time.Second) // a duplicate dead letter would have been forwarded by now
	for _, want := range []string{"er.t.acme.com.acme.iot.reading old-1", "er.t.acme.com.acme.iot.reading old-2",
		"er.dlq.acme old-bad", "er.t.acme.com.acme.iot.reading acme-new"} {
		if seen[want] != 1 {
			t.Errorf("%s: seen %d times, want once (all: %v)", want, seen[want], seen)
		}
	}
	if cons, err := js.OrderedConsumer(ctx, tenantnats.StreamName("acme"), jetstream.OrderedConsumerConfig{FilterSubjects: []string{"er.dlq.acme"}}); err == nil {
		n := 0
		for {
			if _, err := cons.Next(jetstream.FetchMaxWait(500 * time.Millisecond)); err != nil {
				break
			}
			n++
		}
		if n != 1 {
			t.Errorf("%d dead letters in acme's stream after the upgrade, want 1", n)
		}
	}
	s.stop(t)
}

// writeSharedAccountData writes what serve kept before accounts: the shared
// streams and tenant id's stream, in the server's global account, with two
// processed events and one dead letter (sourced into the tenant stream).
func writeSharedAccountData(t *testing.T, natsDir, id string) {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.Options{DataDir: natsDir})
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := tenantnats.SharedStreams(js, bus.Replication{}).Ensure(ctx, tenant.Tenant{ID: id}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"old-1", "old-2"} {
		body := `{"specversion":"1.0","id":"` + ev + `","source":"/old","type":"com.acme.iot.reading","tenantid":"` + id + `","data":{}}`
		if _, err := js.Publish(ctx, "er.t."+id+".com.acme.iot.reading", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, bus.DLQSubject(id), []byte(`{"id":"old-bad"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := js.Stream(ctx, tenantnats.StreamName(id))
		if err != nil {
			t.Fatal(err)
		}
		if s.CachedInfo().State.Msgs == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead letter was not sourced into the tenant stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
