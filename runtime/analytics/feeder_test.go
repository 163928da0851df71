package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/analytics"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
)

const typeOrder = "com.acme.order.created"

// total is a tenant's count over the test's four minutes.
func total(t testing.TB, s *analytics.Store, tn string) uint64 {
	t.Helper()
	var n uint64
	for _, c := range counts(t, s, analytics.CountQuery{Tenant: tn, From: t0, To: t0.Add(4 * time.Minute), Step: time.Minute}) {
		n += c
	}
	return n
}

// waitTotal polls until tenant tn's count is want.
func waitTotal(t testing.TB, s *analytics.Store, tn string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got uint64
	for time.Now().Before(deadline) {
		if got = total(t, s, tn); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("tenant %s counts %d events, want %d", tn, got, want)
}

// statsTotal asks GET /v1/stats/counts with tenant tn's API key.
func statsTotal(t testing.TB, env *tenantnatstest.Env, s *analytics.Store, tn string) uint64 {
	t.Helper()
	mux := http.NewServeMux()
	(&analytics.Handler{Store: s, Auth: env.Registry}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/stats/counts?from="+t0.Format(time.RFC3339)+"&to="+t0.Add(4*time.Minute).Format(time.RFC3339), nil)
	req.Header.Set("Authorization", "Bearer "+env.APIKeys[tn])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply analytics.CountsReply
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != http.StatusOK || reply.Tenant != tn {
		t.Fatalf("GET /v1/stats/counts as %s: %d %+v %v", tn, resp.StatusCode, reply, err)
	}
	return reply.Total
}

// TestFeederAccounts runs the feeder as serve does with tenant accounts:
// each tenant's stream in its own account, reached through the engine
// account's imports. Events land with the tenant of the stream they were
// in, whatever they claim; a tenant added at runtime is fed, a removed one
// no longer.
func TestFeederAccounts(t *testing.T) {
	s, _ := openStore(t)
	env := tenantnatstest.Start(t, "a", "b")
	reg := prometheus.NewRegistry()
	f := runFeeder(t, env.Streams, s, []string{"a", "b"}, analytics.FeederOptions{Metrics: reg})

	for i := range 3 {
		publish(t, env.JS, "a", typeOrder, fmt.Sprint("a", i), t0.Add(time.Duration(i)*time.Second), fmt.Sprint("a/test/a", i))
	}
	publish(t, env.JS, "b", typeOrder, "b0", t0, "b/test/b0")
	// Forgeries in a's stream: the attribute and header claim b; a type
	// that starts with b's id; a WASM output of a's (er.out.a.>, which a's
	// code writes) dressed as b's processed event.
	publishAs(t, env.JS, "er.t.a."+typeOrder, "b", typeOrder, "forged-attr", t0, "a/test/forged-attr")
	publishAs(t, env.JS, "er.t.a.b."+typeOrder, "b", "b."+typeOrder, "forged-type", t0, "a/test/forged-type")
	publishAs(t, env.JS, tenantnats.OutSubject("a", "evil"), "b", typeOrder, "forged-out", t0, "a/test/forged-out")

	waitTotal(t, s, "a", 5)
	waitTotal(t, s, "b", 1)
	if got := statsTotal(t, env, s, "a"); got != 5 {
		t.Errorf("GET /v1/stats/counts as a: total %d, want 5", got)
	}
	if got := statsTotal(t, env, s, "b"); got != 1 {
		t.Errorf("GET /v1/stats/counts as b: total %d, want 1 (a's forgeries are a's)", got)
	}
	byType := analytics.CountQuery{Tenant: "a", Type: "b." + typeOrder, From: t0, To: t0.Add(time.Minute), Step: time.Minute}
	if got := counts(t, s, byType); fmt.Sprint(got) != "[1]" {
		t.Errorf("a's events of type b.%s: %v, want [1]", typeOrder, got)
	}

	// A tenant added at runtime: account, stream, then the feeder.
	env.Put(t, tenant.Tenant{ID: "c"})
	if err := f.Add(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(context.Background(), "c"); err != nil { // again: a no-op
		t.Fatal(err)
	}
	publish(t, env.JS, "c", typeOrder, "c0", t0, "c/test/c0")
	publish(t, env.JS, "c", typeOrder, "c1", t0, "c/test/c1")
	waitTotal(t, s, "c", 2)

	// A removed tenant: the feeder stops before its stream goes; what is
	// published in between is not fed.
	f.Remove("b")
	if got := f.Tenants(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("Tenants after Remove(b) = %v, want [a c]", got)
	}
	publish(t, env.JS, "b", typeOrder, "b1", t0, "b/test/b1")
	publish(t, env.JS, "a", typeOrder, "a-marker", t0, "a/test/a-marker")
	waitTotal(t, s, "a", 6) // the feeder is running ...
	time.Sleep(300 * time.Millisecond)
	if got := total(t, s, "b"); got != 1 {
		t.Errorf("removed tenant b counts %d events, want 1", got)
	}
	env.Remove(t, "b")
	if lag := consumerGauges(t, reg, "eventrunner_consumer_pending_messages"); len(lag) != 2 || lag["ER_T_a"] != 0 || lag["ER_T_c"] != 0 {
		t.Errorf("eventrunner_consumer_pending_messages by stream = %v, want 0 for ER_T_a and ER_T_c only", lag)
	}

	// Sync to the registry: nothing changes; to [a]: c stops.
	if err := f.Sync(context.Background(), []string{"a", "c"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(context.Background(), []string{"a"}); err != nil || !slices.Equal(f.Tenants(), []string{"a"}) {
		t.Errorf("Sync([a]) = %v, tenants %v", err, f.Tenants())
	}
	// Adding a tenant without a stream fails and feeds nothing.
	if err := f.Add(context.Background(), "nosuch"); err == nil || slices.Contains(f.Tenants(), "nosuch") {
		t.Errorf("Add(nosuch) = %v, tenants %v; want an error", err, f.Tenants())
	}
	if got := eventsByOutcome(t, reg); got["dropped"] != 0 {
		t.Errorf("dropped %v events, want none", got["dropped"])
	}
}

// TestFeederConsumerRecreated: a consumer deleted under a running feeder
// (by hand) is recreated; its events are fed, the ones before counted once.
func TestFeederConsumerRecreated(t *testing.T) {
	s, _ := openStore(t)
	env := tenantnatstest.Start(t, "a")
	runFeeder(t, env.Streams, s, []string{"a"}, analytics.FeederOptions{})
	publish(t, env.JS, "a", typeOrder, "a0", t0, "a/test/a0")
	waitTotal(t, s, "a", 1)
	ctx := context.Background()
	if err := env.TenantJS(t, "a").DeleteConsumer(ctx, tenantnats.StreamName("a"), "er-analytics"); err != nil {
		t.Fatal(err)
	}
	publish(t, env.JS, "a", typeOrder, "a1", t0, "a/test/a1")
	waitTotal(t, s, "a", 2)
}

// TestFeederRedelivery makes ClickHouse refuse inserts (the events table
// detached), publishes events including replays of ones already inserted,
// and lets ClickHouse back: the nakked batch comes back and every event is
// counted once.
func TestFeederRedelivery(t *testing.T) {
	s, dsn := openStore(t)
	env := tenantnatstest.Start(t, "a")
	reg := prometheus.NewRegistry()
	runFeeder(t, env.Streams, s, []string{"a"}, analytics.FeederOptions{Metrics: reg})
	for i := range 3 {
		publish(t, env.JS, "a", typeOrder, fmt.Sprint("a", i), t0.Add(time.Duration(i)*time.Second), fmt.Sprint("a/test/a", i))
	}
	waitTotal(t, s, "a", 3)

	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Exec(ctx, "DETACH TABLE "+analytics.EventsTable); err != nil {
		t.Fatal(err)
	}
	attached := false
	defer func() {
		if !attached {
			_ = admin.Exec(ctx, "ATTACH TABLE "+analytics.EventsTable)
		}
	}()
	for i := range 6 { // a0..a2 again (replays), a3..a5 new
		publish(t, env.JS, "a", typeOrder, fmt.Sprint("a", i), t0.Add(time.Duration(i)*time.Second), fmt.Sprint("a/test/a", i, "/2"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for eventsByOutcome(t, reg)["retry"] < 6 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := eventsByOutcome(t, reg); got["retry"] < 6 {
		t.Fatalf("eventrunner_analytics_events_total = %v, want at least 6 retried while the table is detached", got)
	}
	if err := admin.Exec(ctx, "ATTACH TABLE "+analytics.EventsTable); err != nil {
		t.Fatal(err)
	}
	attached = true
	waitTotal(t, s, "a", 6)
	var rows, distinct uint64
	if err := admin.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM "+analytics.EventsTable+" FINAL WHERE tenant = 'a'").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != 6 || distinct != 6 {
		t.Errorf("er_events FINAL holds %d rows of %d ids for a, want 6 of 6", rows, distinct)
	}
	if got := statsTotal(t, env, s, "a"); got != 6 {
		t.Errorf("GET /v1/stats/counts as a: total %d, want 6", got)
	}
	// Every event was acked in the end: nothing pending on the consumer.
	waitAcked(t, env.TenantJS(t, "a"), "a")
}

// waitAcked waits until tenant id's analytics consumer has nothing
// pending or unacknowledged.
func waitAcked(t testing.TB, js jetstream.JetStream, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var info *jetstream.ConsumerInfo
	for time.Now().Before(deadline) {
		c, err := js.Consumer(context.Background(), tenantnats.StreamName(id), "er-analytics")
		if err != nil {
			t.Fatal(err)
		}
		if info, err = c.Info(context.Background()); err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("consumer er-analytics on %s: %d pending, %d unacked", tenantnats.StreamName(id), info.NumPending, info.NumAckPending)
}

// TestFeedersShare runs two feeders (two engine processes) on the same
// tenant: they share its durable consumer, so together they insert every
// event once.
func TestFeedersShare(t *testing.T) {
	s, _ := openStore(t)
	env := tenantnatstest.Start(t, "a")
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	for _, reg := range regs {
		// Streams of their own, as separate processes have.
		runFeeder(t, tenantnats.AccountStreams(env.Engine, bus.Replication{}), s, []string{"a"}, analytics.FeederOptions{Metrics: reg, MaxRows: 50})
	}
	const n = 2000
	for i := range n {
		if _, err := env.JS.PublishAsync("er.t.a."+typeOrder, fmt.Appendf(nil, `{"specversion":"1.0","id":"e%d","source":"/test","type":%q,"time":%q}`,
			i, typeOrder, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-env.JS.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publish did not complete")
	}
	waitTotal(t, s, "a", n)
	waitAcked(t, env.TenantJS(t, "a"), "a")
	var sum float64
	var each []float64
	for _, reg := range regs {
		got := eventsByOutcome(t, reg)
		each = append(each, got["inserted"])
		sum += got["inserted"]
	}
	if sum != n {
		t.Errorf("the feeders inserted %v events together (%v), want %d: none twice", sum, each, n)
	}
	if each[0] == 0 || each[1] == 0 {
		t.Errorf("inserted by each feeder: %v; want both to take a share", each)
	}
	t.Logf("inserted by each feeder: %v", each)
}
