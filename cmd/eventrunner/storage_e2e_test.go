package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// The storage tests run serve against the real Cassandra and ClickHouse that
// .ci/run (or `make services`) starts. Their addresses are taken out of the
// environment here, before any serve starts, because serve reads
// EVENTRUNNER_CASSANDRA_HOSTS and EVENTRUNNER_CLICKHOUSE_DSN like any flag:
// left in place they would switch every other end-to-end test's server to
// the shared external stores.
var (
	e2eCassandraHosts = os.Getenv("EVENTRUNNER_CASSANDRA_HOSTS")
	e2eClickHouseDSN  = os.Getenv("EVENTRUNNER_CLICKHOUSE_DSN")
)

func init() {
	for _, v := range os.Environ() {
		if k, _, _ := strings.Cut(v, "="); strings.HasPrefix(k, "EVENTRUNNER_CASSANDRA_") || strings.HasPrefix(k, "EVENTRUNNER_CLICKHOUSE_") {
			os.Unsetenv(k)
		}
	}
}

// externalStores returns serve's flags for a fresh keyspace and database
// of this test, and a ClickHouse connection to that database. It skips
// without the services unless EVENTRUNNER_REQUIRE_SERVICES=1 (CI).
func externalStores(t *testing.T, name string) ([]string, clickhouse.Conn) {
	t.Helper()
	if e2eCassandraHosts == "" || e2eClickHouseDSN == "" {
		if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" {
			t.Fatal("EVENTRUNNER_CASSANDRA_HOSTS or EVENTRUNNER_CLICKHOUSE_DSN is unset but EVENTRUNNER_REQUIRE_SERVICES=1")
		}
		t.Skip("skipping: EVENTRUNNER_CASSANDRA_HOSTS and EVENTRUNNER_CLICKHOUSE_DSN are needed (start them with `make services`)")
	}
	db := fmt.Sprintf("e2e_%s_%d", name, os.Getpid())
	opts, err := clickhouse.ParseDSN(e2eClickHouseDSN)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		admin.Close()
	})
	u, err := url.Parse(e2eClickHouseDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	opts.Auth.Database = db
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// The keyspace is left behind (dropping one takes seconds); its name is
	// unique to this run.
	return []string{"--cassandra-hosts", e2eCassandraHosts, "--cassandra-keyspace", db, "--cassandra-consistency", "ONE",
		"--clickhouse-dsn", u.String()}, conn
}

// statsTotal returns the demo tenant's event count over the last and next
// day from GET /v1/stats/counts.
func (s *server) statsTotal(t *testing.T) uint64 {
	t.Helper()
	now := time.Now().UTC()
	q := fmt.Sprintf("?step=24h&from=%s&to=%s", now.Add(-24*time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodGet, s.httpURL+"/v1/stats/counts"+q, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Total uint64
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/stats/counts: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	return reply.Total
}

// waitStats polls the counts endpoint until it reports want events.
func (s *server) waitStats(t *testing.T, want uint64) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var got uint64
	for time.Now().Before(deadline) {
		if got = s.statsTotal(t); got == want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stats count %d after 90 s, want %d:\n%s", got, want, s.stderr)
}

// clickhouseIDs returns how many rows each id has in er_events FINAL (the
// deduplicated view of the raw table).
func clickhouseIDs(t *testing.T, conn clickhouse.Conn) map[string]uint64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT id, count() FROM er_events FINAL WHERE tenant = 'demo' GROUP BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

// TestServeCassandraClickHouse posts events over HTTP to serve on Cassandra
// and ClickHouse, reads them back through the query API and counts them
// through the stats API, then restarts serve and checks that nothing
// doubles.
func TestServeCassandraClickHouse(t *testing.T) {
	flags, ch := externalStores(t, "basic")
	dir := t.TempDir()
	s := startServer(t, dir, flags...)
	var evs, ids []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("cs-%02d", i))
		evs = append(evs, iotEvent(ids[i], float64(60+i)))
	}
	if code, body := s.post(t, "application/cloudevents-batch+json", nil, "["+strings.Join(evs, ",")+"]"); code != http.StatusAccepted && code != http.StatusMultiStatus {
		t.Fatalf("post: %d %s", code, body)
	}
	for _, id := range ids {
		ev := s.waitEvent(t, id)
		if ev["erkb"] != "iot@1.0.0" {
			t.Errorf("event %s from Cassandra is not processed: %v", id, ev)
		}
	}
	accepted := map[string]bool{}
	for _, id := range ids {
		accepted[id] = true
	}
	if stored := waitAllStored(t, s, accepted); len(stored) != len(ids) {
		t.Errorf("listing from Cassandra: %d events, want %d", len(stored), len(ids))
	}
	s.waitStats(t, uint64(len(ids)))

	// The same events again (a producer retry) and a restart: still once.
	s.post(t, "application/cloudevents-batch+json", nil, "["+strings.Join(evs, ",")+"]")
	s.stop(t)
	s = startServer(t, dir, flags...)
	if stored := waitAllStored(t, s, accepted); len(stored) != len(ids) {
		t.Errorf("listing after a restart: %d events, want %d", len(stored), len(ids))
	}
	if got := s.statsTotal(t); got != uint64(len(ids)) {
		t.Errorf("stats after a restart: %d, want %d", got, len(ids))
	}
	for id, n := range clickhouseIDs(t, ch) {
		if n != 1 || !accepted[id] {
			t.Errorf("ClickHouse holds %q %d times", id, n)
		}
	}
	s.stop(t)
}

// TestServeCrashCassandraClickHouse kills serve with SIGKILL while events
// flow through every stage, restarts it, and checks that every event
// answered 202 is in Cassandra once and that ClickHouse counts exactly the
// stored events, each once.
func TestServeCrashCassandraClickHouse(t *testing.T) {
	flags, ch := externalStores(t, "crash")
	dir := t.TempDir()
	flags = append(flags, "--ack-wait", "3s")
	s := startServer(t, dir, flags...)
	// Kill once events are in every stage: accepted, stored and fed.
	accepted := loadThenKill(t, s, "k", 2, func(n int) bool { return n >= 1500 && len(clickhouseIDs(t, ch)) > 0 })
	if len(accepted) < 500 {
		t.Fatalf("only %d events accepted before the kill", len(accepted))
	}

	s = startServer(t, dir, flags...)
	stored := waitAllStored(t, s, accepted)
	for id := range accepted {
		if stored[id] != 1 {
			t.Errorf("%s listed %d times from Cassandra, want once", id, stored[id])
		}
	}
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s listed %d times from Cassandra, want once", id, n)
		}
	}
	// Events published but not yet answered when the kill came may be
	// stored too: ClickHouse must count exactly what Cassandra holds.
	s.waitStats(t, uint64(len(stored)))
	got := clickhouseIDs(t, ch)
	for id, n := range got {
		if n != 1 || stored[id] != 1 {
			t.Errorf("ClickHouse holds %q %d times (stored %d times)", id, n, stored[id])
		}
	}
	if len(got) != len(stored) {
		t.Errorf("ClickHouse holds %d ids, Cassandra %d", len(got), len(stored))
	}
	s.stop(t)
}

// TestServeStatsDisabled checks that without --clickhouse-dsn the counts
// route says how to enable it.
func TestServeStatsDisabled(t *testing.T) {
	s := startServer(t, t.TempDir())
	req, _ := http.NewRequest(http.MethodGet, s.httpURL+"/v1/stats/counts", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Detail string }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusNotFound || !strings.Contains(p.Detail, "--clickhouse-dsn") {
		t.Errorf("GET /v1/stats/counts without analytics: %d %+v %v", resp.StatusCode, p, err)
	}
}

// TestServeCassandraUnreachable checks that serve refuses to start, naming
// the store, when Cassandra cannot be reached (no silent fallback to Pebble).
func TestServeCassandraUnreachable(t *testing.T) {
	cmd := exec.Command(buildBinary(t), "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0",
		"--nats-listen", "127.0.0.1:0", "--grpc-addr", "", "--cassandra-hosts", "127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "start store") || !strings.Contains(string(out), "cassandra") {
		t.Errorf("serve on an unreachable Cassandra: %v\n%s", err, out)
	}
}

// statsTotalOf returns the count of the tenant of key over the last and
// next day from GET /v1/stats/counts.
func (s *server) statsTotalOf(t *testing.T, key string) uint64 {
	t.Helper()
	now := time.Now().UTC()
	q := fmt.Sprintf("?step=24h&from=%s&to=%s", now.Add(-24*time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339))
	code, _, b := request(t, http.MethodGet, s.httpURL+"/v1/stats/counts"+q, key, "", "")
	var reply struct{ Total uint64 }
	if code != http.StatusOK || json.Unmarshal(b, &reply) != nil {
		t.Fatalf("GET /v1/stats/counts: %d %s", code, b)
	}
	return reply.Total
}

// waitStatsOf polls the counts of key's tenant until they are want.
func (s *server) waitStatsOf(t *testing.T, key string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got uint64
	for time.Now().Before(deadline) {
		if got = s.statsTotalOf(t, key); got == want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stats count %d after 60 s, want %d:\n%s", got, want, s.stderr)
}

// TestServeTenantsClickHouse upgrades a data directory from before tenant
// accounts that fed ClickHouse through ER_ANALYTICS: the stream is
// deleted, the tenant's stream is fed directly (its old events included);
// a tenant created at runtime is fed at once, and a deleted one is
// stopped before its stream goes.
func TestServeTenantsClickHouse(t *testing.T) {
	flags, _ := externalStores(t, "tenants")
	dir := t.TempDir()
	acme := createTenant(t, "acme", "--data-dir", dir)
	natsDir := filepath.Join(dir, "nats")
	writeSharedAccountData(t, natsDir, "acme")
	writeLegacyAnalyticsStream(t, natsDir, "acme")

	s := startServer(t, dir, append(flags, "--admin-key", adminKey)...)
	events := s.httpURL + "/v1/events"
	if code, _, b := request(t, http.MethodPost, events, acme.APIKey, "application/cloudevents+json", iotEvent("acme-new", 70)); code != 202 {
		t.Fatalf("post: %d %s", code, b)
	}
	s.waitStatsOf(t, acme.APIKey, 3) // old-1, old-2 from before the upgrade, acme-new
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := engineJS(t, s, dir).Stream(ctx, "ER_ANALYTICS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("ER_ANALYTICS after the upgrade: %v, want ErrStreamNotFound", err)
	}

	code, _, b := request(t, http.MethodPost, s.httpURL+"/admin/v1/tenants", adminKey, "application/json", `{"id":"late"}`)
	var late tenant.Secrets
	if code != 201 || json.Unmarshal(b, &late) != nil {
		t.Fatalf("admin create: %d %s", code, b)
	}
	for _, id := range []string{"late-1", "late-2"} {
		if code, _, b := request(t, http.MethodPost, events, late.APIKey, "application/cloudevents+json", iotEvent(id, 70)); code != 202 {
			t.Fatalf("late post: %d %s", code, b)
		}
	}
	s.waitStatsOf(t, late.APIKey, 2)
	if code, _, b := request(t, http.MethodDelete, s.httpURL+"/admin/v1/tenants/late", adminKey, "", ""); code != 204 {
		t.Fatalf("admin delete: %d %s", code, b)
	}
	if got := s.statsTotalOf(t, acme.APIKey); got != 3 {
		t.Errorf("acme's count after late's deletion: %d, want 3", got)
	}
	s.stop(t)
	if strings.Contains(s.stderr.String(), "analytics") {
		t.Errorf("serve logged analytics trouble:\n%s", s.stderr)
	}
}

// writeLegacyAnalyticsStream adds to a data directory from before accounts
// the ER_ANALYTICS stream (sourcing tenant id's stream) and its consumer,
// as serve with --clickhouse-dsn kept them.
func writeLegacyAnalyticsStream(t *testing.T, natsDir, id string) {
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
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ER_ANALYTICS", MaxAge: 7 * 24 * time.Hour,
		Sources: []*jetstream.StreamSource{{Name: tenantnats.StreamName(id), FilterSubject: "er.t." + id + ".>"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "er-analytics", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if info, err := st.Info(ctx); err == nil && info.State.Msgs == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("ER_ANALYTICS did not source the tenant's events")
		}
	}
}
