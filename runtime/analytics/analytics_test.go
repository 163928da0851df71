package analytics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/analytics"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// clickhouseDSN returns the ClickHouse to test against, from
// EVENTRUNNER_CLICKHOUSE_DSN (.ci/run and `make services` start one). The
// tests skip when it is unset, unless EVENTRUNNER_REQUIRE_SERVICES=1 (CI).
func clickhouseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("EVENTRUNNER_CLICKHOUSE_DSN")
	if dsn == "" {
		if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" {
			t.Fatal("EVENTRUNNER_CLICKHOUSE_DSN is unset but EVENTRUNNER_REQUIRE_SERVICES=1: .ci/clickhouse.sh did not start ClickHouse")
		}
		t.Skip("skipping: EVENTRUNNER_CLICKHOUSE_DSN is unset (start one with `make services`)")
	}
	return dsn
}

var dbSeq atomic.Int64

// openStore opens a Store on a database of its own, dropped at the end.
func openStore(t testing.TB) (*analytics.Store, string) {
	t.Helper()
	return openStoreAfter(t, nil)
}

// openStoreAfter is openStore with before run on the new database (through
// a connection of its own) before the Store opens it.
func openStoreAfter(t testing.TB, before func(c driver.Conn, db string)) (*analytics.Store, string) {
	t.Helper()
	base := clickhouseDSN(t)
	db := fmt.Sprintf("analytics_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts, err := clickhouse.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := clickhouse.Open(opts)
		if err == nil {
			_ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
			c.Close()
		}
	})
	if before != nil {
		before(admin, db)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	dsn := u.String()
	s, err := analytics.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// publish puts a processed event on er.t.<tenant>.<type> with msgID (a
// different msgID for the same event simulates a replay past the
// deduplication window).
func publish(t testing.TB, js jetstream.JetStream, tn, typ, id string, at time.Time, msgID string) {
	t.Helper()
	publishAs(t, js, "er.t."+tn+"."+typ, tn, typ, id, at, msgID)
}

// publishAs puts on subject a processed event whose tenantid attribute and
// Er-Tenant header claim tenant claimed.
func publishAs(t testing.TB, js jetstream.JetStream, subject, claimed, typ, id string, at time.Time, msgID string) {
	t.Helper()
	ev := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/test","type":%q,"time":%q,"tenantid":%q,"data":{}}`,
		id, typ, at.Format(time.RFC3339Nano), claimed)
	m := &nats.Msg{Subject: subject, Data: []byte(ev), Header: nats.Header{}}
	m.Header.Set(bus.HeaderMsgID, msgID)
	m.Header.Set(bus.HeaderSchema, typ+"/v1")
	m.Header.Set(bus.HeaderTenant, claimed)
	// The engine's publisher: its PubAcks also come back across the
	// tenant's account (bus.AckPrefix).
	errs := make([]error, 1)
	if err := bus.NewPublisher(js, bus.PublisherOptions{TenantAcks: true}).PublishBatch(context.Background(), []*nats.Msg{m}, errs); err != nil || errs[0] != nil {
		t.Fatalf("publish on %s: %v", subject, errors.Join(err, errs[0]))
	}
}

// quietLog discards the feeder's logs.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// runFeeder creates a feeder over streams, syncs it to ids and runs it
// until the test ends, when Run must return context.Canceled.
func runFeeder(t testing.TB, streams *tenantnats.Streams, s *analytics.Store, ids []string, opts analytics.FeederOptions) *analytics.Feeder {
	t.Helper()
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	f, err := analytics.NewFeeder(streams, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Sync(ctx, ids); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
	return f
}

func counts(t testing.TB, s *analytics.Store, q analytics.CountQuery) []uint64 {
	t.Helper()
	cs, err := s.Counts(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint64, len(cs))
	for i, c := range cs {
		out[i] = c.Count
		if want := q.From.Add(time.Duration(i) * q.Step); !c.Time.Equal(want) {
			t.Errorf("slot %d starts at %v, want %v", i, c.Time, want)
		}
	}
	return out
}

// waitCounts polls until the counts of q are want, or fails after 30 s.
func waitCounts(t *testing.T, s *analytics.Store, q analytics.CountQuery, want []uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got []uint64
	for time.Now().Before(deadline) {
		if got = counts(t, s, q); fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("counts of %+v: %v, want %v", q, got, want)
}

// TestFeederCountsOnce feeds events including replays (the same event
// published again, as after a crash between insert and ack) and a message
// that is no event, and checks exact per-minute counts by type and overall.
func TestFeederCountsOnce(t *testing.T) {
	s, _ := openStore(t)
	env := bustest.Start(t)
	env.EnsureTenant(t, "globex")
	const typeA, typeB = "com.acme.order.created", "com.acme.order.shipped"
	// Minute 0: 3 of A, 1 of B; minute 1: 2 of A; minute 3: 1 of B.
	evs := []struct {
		id, typ string
		at      time.Time
	}{
		{"a1", typeA, t0}, {"a2", typeA, t0.Add(10 * time.Second)}, {"a3", typeA, t0.Add(59*time.Second + 999*time.Millisecond)},
		{"b1", typeB, t0.Add(time.Second)},
		{"a4", typeA, t0.Add(time.Minute)}, {"a5", typeA, t0.Add(90 * time.Second)},
		{"b2", typeB, t0.Add(3*time.Minute + 5*time.Second)},
	}
	for _, e := range evs {
		publish(t, env.JS, "acme", e.typ, e.id, e.at, "acme/test/"+e.id)
	}
	publish(t, env.JS, "globex", typeA, "g1", t0, "globex/test/g1") // another tenant
	garbage := &nats.Msg{Subject: "er.t.acme." + typeA, Data: []byte("not json")}
	if _, err := env.JS.PublishMsg(context.Background(), garbage); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	// Without accounts every tenant stream is in the one account.
	runFeeder(t, tenantnats.SharedStreams(env.JS, bus.Replication{}), s, []string{"acme", "globex"}, analytics.FeederOptions{Metrics: reg})

	all := analytics.CountQuery{Tenant: "acme", From: t0, To: t0.Add(4 * time.Minute), Step: time.Minute}
	waitCounts(t, s, all, []uint64{4, 2, 0, 1})
	// Replays of a whole batch, in a later insert: nothing changes.
	for _, e := range evs[:4] {
		publish(t, env.JS, "acme", e.typ, e.id, e.at, "acme/test/"+e.id+"/replay")
	}
	publish(t, env.JS, "acme", typeB, "b3", t0.Add(3*time.Minute), "acme/test/b3") // a marker after the replays
	waitCounts(t, s, all, []uint64{4, 2, 0, 2})

	byA := all
	byA.Type = typeA
	if got := counts(t, s, byA); fmt.Sprint(got) != "[3 2 0 0]" {
		t.Errorf("counts of %s: %v, want [3 2 0 0]", typeA, got)
	}
	two := all
	two.Step = 2 * time.Minute
	if got := counts(t, s, two); fmt.Sprint(got) != "[6 2]" {
		t.Errorf("counts in 2-minute slots: %v, want [6 2]", got)
	}
	other := all
	other.Tenant = "globex"
	if got := counts(t, s, other); fmt.Sprint(got) != "[1 0 0 0]" {
		t.Errorf("counts of globex: %v, want [1 0 0 0]", got)
	}
	if got := eventsByOutcome(t, reg); got["inserted"] != 13 || got["dropped"] != 1 {
		t.Errorf("eventrunner_analytics_events_total = %v, want 13 inserted and 1 dropped", got)
	}
	// Each tenant's consumer reports its lag, caught up.
	if lag := consumerGauges(t, reg, "eventrunner_consumer_pending_messages"); lag["ER_T_acme"] != 0 || lag["ER_T_globex"] != 0 || len(lag) != 2 {
		t.Errorf("eventrunner_consumer_pending_messages by stream = %v, want 0 for ER_T_acme and ER_T_globex", lag)
	}
}

// consumerGauges reads a gauge of bus.LagCollector from reg, by stream.
func consumerGauges(t testing.TB, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stream" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// eventsByOutcome reads eventrunner_analytics_events_total from reg.
func eventsByOutcome(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "eventrunner_analytics_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestInsertReplay inserts the same rows twice, as a feeder that crashed
// after its insert and before its acks would, and checks both the rollup
// and the deduplicated raw table.
func TestInsertReplay(t *testing.T) {
	s, dsn := openStore(t)
	ctx := context.Background()
	rows := []analytics.Row{
		{Tenant: "acme", ID: "x1", Type: "t.one", Time: t0.Add(5 * time.Second), IngestTime: t0},
		{Tenant: "acme", ID: "x2", Type: "t.one", Time: t0.Add(6 * time.Second), IngestTime: t0},
		{Tenant: "acme", ID: "x3", Type: "t.two", Time: time.Time{}, IngestTime: t0.Add(time.Minute)},                // no event time
		{Tenant: "acme", ID: "x4", Type: "t.two", Time: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), IngestTime: t0}, // before DateTime: counted at 1970
	}
	for v := uint64(1); v <= 3; v++ {
		if err := s.Insert(ctx, rows, v); err != nil {
			t.Fatal(err)
		}
	}
	q := analytics.CountQuery{Tenant: "acme", From: t0, To: t0.Add(2 * time.Minute), Step: time.Minute}
	if got := counts(t, s, q); fmt.Sprint(got) != "[2 1]" {
		t.Errorf("counts after three inserts of the same rows: %v, want [2 1]", got)
	}
	opts, _ := clickhouse.ParseDSN(dsn)
	c, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n uint64
	if err := c.QueryRow(ctx, "SELECT count() FROM "+analytics.EventsTable+" FINAL WHERE tenant = 'acme'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("er_events FINAL: %d rows, want 4", n)
	}
	// Migrating again (every start does) is harmless.
	if err := s.Migrate(ctx); err != nil {
		t.Errorf("second Migrate: %v", err)
	}
}

// TestMigrateToSourceIdentity: tables made when an event was its tenant and
// id (er_events keyed without source, a rollup of distinct ids) are rebuilt
// on Open: the rows are kept, and two sources' events of the same id and
// time count twice from then on.
func TestMigrateToSourceIdentity(t *testing.T) {
	ctx := context.Background()
	s, _ := openStoreAfter(t, func(c driver.Conn, db string) {
		for _, stmt := range []string{
			`CREATE TABLE ` + db + `.er_events (tenant String, id String, type String, source String, subject String, schema String,
				event_time DateTime('UTC'), event_time_ns UInt32, ingest_time DateTime('UTC'), stream_seq UInt64, version UInt64)
			ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant, type, event_time, id)`,
			`CREATE MATERIALIZED VIEW ` + db + `.er_events_per_minute ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(minute)
			ORDER BY (tenant, type, minute) AS SELECT tenant, type, toStartOfMinute(event_time) AS minute, uniqExactState(id) AS ids
			FROM ` + db + `.er_events GROUP BY tenant, type, minute`,
			// INSERT … SELECT: over the native protocol, VALUES waits for a data block.
			`INSERT INTO ` + db + `.er_events (tenant, id, type, source, event_time, version)
				SELECT 'acme', 'old-1', 't.one', '/a', toDateTime('2026-03-01 12:00:05', 'UTC'), toUInt64(1)
				UNION ALL SELECT 'acme', 'old-2', 't.one', '/a', toDateTime('2026-03-01 12:01:05', 'UTC'), toUInt64(1)`,
		} {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := c.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
	})
	at := t0.Add(10 * time.Second)
	rows := []analytics.Row{
		{Tenant: "acme", ID: "same", Source: "/a", Type: "t.one", Time: at, IngestTime: at},
		{Tenant: "acme", ID: "same", Source: "/b", Type: "t.one", Time: at, IngestTime: at},
	}
	for v := uint64(1); v <= 2; v++ { // a replay too
		if err := s.Insert(ctx, rows, v); err != nil {
			t.Fatal(err)
		}
	}
	q := analytics.CountQuery{Tenant: "acme", From: t0, To: t0.Add(2 * time.Minute), Step: time.Minute}
	if got := counts(t, s, q); fmt.Sprint(got) != "[3 1]" {
		t.Errorf("counts after the upgrade: %v, want [3 1] (old-1 and both sources of same; old-2)", got)
	}
	if err := s.Migrate(ctx); err != nil { // every start migrates
		t.Fatalf("second Migrate: %v", err)
	}
	if got := counts(t, s, q); fmt.Sprint(got) != "[3 1]" {
		t.Errorf("counts after migrating again: %v, want [3 1]", got)
	}
}

type keyAuth map[string]string

func (k keyAuth) Authenticate(key string) (tenant.Tenant, error) {
	if id, ok := k[key]; ok {
		return tenant.Tenant{ID: id}, nil
	}
	return tenant.Tenant{}, errors.New("unknown key")
}

func TestCountsHandler(t *testing.T) {
	s, _ := openStore(t)
	rows := []analytics.Row{
		{Tenant: "acme", ID: "1", Type: "t.one", Time: t0.Add(time.Second)},
		{Tenant: "acme", ID: "2", Type: "t.two", Time: t0.Add(61 * time.Second)},
		{Tenant: "globex", ID: "3", Type: "t.one", Time: t0.Add(time.Second)},
	}
	if err := s.Insert(context.Background(), rows, 1); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&analytics.Handler{Store: s, Auth: keyAuth{"key-acme": "acme"}, Now: func() time.Time { return t0.Add(150 * time.Second) }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(query, key string) (int, analytics.CountsReply, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/stats/counts"+query, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body strings.Builder
		var reply analytics.CountsReply
		raw := json.NewDecoder(resp.Body)
		var m json.RawMessage
		_ = raw.Decode(&m)
		body.Write(m)
		_ = json.Unmarshal(m, &reply)
		return resp.StatusCode, reply, body.String()
	}
	from := t0.Format(time.RFC3339)
	cases := []struct {
		name, query string
		want        string // counts
		total       uint64
	}{
		{"explicit range", "?from=" + from + "&to=" + t0.Add(3*time.Minute).Format(time.RFC3339), "[1 1 0]", 2},
		{"by type", "?type=t.two&from=" + from + "&to=" + t0.Add(3*time.Minute).Format(time.RFC3339), "[0 1 0]", 1},
		{"step", "?step=2m&from=" + from + "&to=" + t0.Add(4*time.Minute).Format(time.RFC3339), "[2 0]", 2},
		{"unaligned bounds widen to the step", "?from=" + t0.Add(30*time.Second).Format(time.RFC3339) + "&to=" + t0.Add(90*time.Second).Format(time.RFC3339), "[1 1]", 2},
	}
	for _, c := range cases {
		code, reply, body := get(c.query, "key-acme")
		if code != http.StatusOK {
			t.Errorf("%s: %d %s", c.name, code, body)
			continue
		}
		var got []uint64
		for _, n := range reply.Counts {
			got = append(got, n.Count)
		}
		if fmt.Sprint(got) != c.want || reply.Total != c.total || reply.Tenant != "acme" {
			t.Errorf("%s: counts %v total %d tenant %s, want %s total %d", c.name, got, reply.Total, reply.Tenant, c.want, c.total)
		}
	}
	// Default range: 60 one-minute slots ending at now rounded up.
	if code, reply, body := get("", "key-acme"); code != 200 || len(reply.Counts) != 60 || !reply.To.Equal(t0.Add(3*time.Minute)) || reply.Total != 2 {
		t.Errorf("default range: %d, %d slots to %v total %d: %s", code, len(reply.Counts), reply.To, reply.Total, body)
	}
	for _, bad := range []struct {
		query, key string
		code       int
	}{
		{"", "", http.StatusUnauthorized},
		{"", "wrong", http.StatusUnauthorized},
		{"?step=30s", "key-acme", http.StatusBadRequest},
		{"?step=banana", "key-acme", http.StatusBadRequest},
		{"?from=yesterday", "key-acme", http.StatusBadRequest},
		{"?from=" + t0.Format(time.RFC3339) + "&to=" + t0.Add(-time.Hour).Format(time.RFC3339), "key-acme", http.StatusBadRequest},
		{"?from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "key-acme", http.StatusBadRequest}, // too many slots
	} {
		if code, _, body := get(bad.query, bad.key); code != bad.code || !strings.Contains(body, "detail") {
			t.Errorf("GET %q with key %q: %d %s, want %d with a problem body", bad.query, bad.key, code, body, bad.code)
		}
	}
}

func TestCountQueryCheck(t *testing.T) {
	ok := analytics.CountQuery{Tenant: "acme", From: t0, To: t0.Add(time.Hour), Step: time.Minute}
	if err := ok.Check(); err != nil {
		t.Fatalf("valid query: %v", err)
	}
	for name, mod := range map[string]func(*analytics.CountQuery){
		"no tenant":       func(q *analytics.CountQuery) { q.Tenant = "" },
		"sub-minute step": func(q *analytics.CountQuery) { q.Step = 30 * time.Second },
		"odd step":        func(q *analytics.CountQuery) { q.Step = 90 * time.Second },
		"unaligned from":  func(q *analytics.CountQuery) { q.From = q.From.Add(time.Second) },
		"empty range":     func(q *analytics.CountQuery) { q.To = q.From },
		"before 1970":     func(q *analytics.CountQuery) { q.From = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) },
		"too many slots":  func(q *analytics.CountQuery) { q.To = q.From.Add(analytics.MaxSlots*time.Minute + time.Minute) },
	} {
		q := ok
		mod(&q)
		if err := q.Check(); !errors.Is(err, analytics.ErrInvalidQuery) {
			t.Errorf("%s: Check = %v, want ErrInvalidQuery", name, err)
		}
	}
}
