package cassandra_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/cassandra"
	"github.com/eventrunner/eventrunner/runtime/store/storetest"
)

// cassandraHosts returns the Cassandra to test against, from
// EVENTRUNNER_CASSANDRA_HOSTS (.ci/run and `make services` start one). The
// tests skip when it is unset, unless EVENTRUNNER_REQUIRE_SERVICES=1 (CI),
// where a missing server is a failure.
func cassandraHosts(tb testing.TB) []string {
	tb.Helper()
	hosts := cassandra.ParseHosts(os.Getenv("EVENTRUNNER_CASSANDRA_HOSTS"))
	if len(hosts) == 0 {
		if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" {
			tb.Fatal("EVENTRUNNER_CASSANDRA_HOSTS is unset but EVENTRUNNER_REQUIRE_SERVICES=1: .ci/cassandra.sh did not start Cassandra")
		}
		tb.Skip("skipping: EVENTRUNNER_CASSANDRA_HOSTS is unset (start one with `make services`)")
	}
	return hosts
}

// testKeyspace is this test process's keyspace, so that concurrent test
// binaries (store, analytics, e2e) never truncate each other's tables.
var testKeyspace = fmt.Sprintf("storetest_%d", os.Getpid())

func testOptions(hosts []string) cassandra.Options {
	return cassandra.Options{Hosts: hosts, Keyspace: testKeyspace, Consistency: "ONE", BucketSize: time.Hour}
}

// openStore opens the test keyspace, empties it, and closes the store
// (then drops the keyspace once per run, in TestMain) when the test ends.
func openStore(t testing.TB, opts cassandra.Options) *cassandra.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := cassandra.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	usedKeyspaces[opts.Keyspace] = opts
	if err := cassandra.Truncate(ctx, s); err != nil {
		s.Close()
		t.Fatalf("truncate: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var usedKeyspaces = map[string]cassandra.Options{}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, opts := range usedKeyspaces {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if s, err := cassandra.Open(ctx, opts); err == nil {
			if err := cassandra.DropKeyspace(ctx, s); err != nil {
				fmt.Fprintf(os.Stderr, "drop keyspace %s: %v\n", opts.Keyspace, err)
			}
			s.Close()
		}
		cancel()
	}
	os.Exit(code)
}

// TestContract runs the store contract against a real Cassandra.
func TestContract(t *testing.T) {
	hosts := cassandraHosts(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, testOptions(hosts)) })
}

// TestSmallBuckets runs the contract again with minute buckets, so
// that lists cross many partitions and the bucket index.
func TestSmallBuckets(t *testing.T) {
	hosts := cassandraHosts(t)
	if testing.Short() {
		t.Skip("the hourly run covers the semantics")
	}
	opts := testOptions(hosts)
	opts.Keyspace += "_min"
	opts.BucketSize = time.Minute
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, opts) })
}

// TestReopen checks that migrations re-run cleanly, that data
// survives a new session, that a keyspace refuses another bucket size and
// that calls after Close fail with ErrClosed.
func TestReopen(t *testing.T) {
	hosts := cassandraHosts(t)
	ctx := context.Background()
	s := openStore(t, testOptions(hosts))
	r := store.Record{Tenant: "acme", Source: "/s", ID: "a", Type: "t.one", Time: time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC), Event: []byte(`{"id":"a"}`)}
	if err := s.Put(ctx, []store.Record{r}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, "acme", "/s", "a")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := cassandra.Open(ctx, testOptions(hosts))
	if err != nil {
		t.Fatalf("second open (migrations again): %v", err)
	}
	got, err := s2.Get(ctx, "acme", "/s", "a")
	if err != nil || !got.StoredAt.Equal(stored.StoredAt) || string(got.Event) != `{"id":"a"}` {
		t.Errorf("through a second session: %+v, %v", got, err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s2.Get(ctx, "acme", "/s", "a"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s2.Put(ctx, []store.Record{r}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := s2.List(ctx, store.Query{Tenant: "acme"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}

	other := testOptions(hosts)
	other.BucketSize = 2 * time.Hour
	if s3, err := cassandra.Open(ctx, other); err == nil || !strings.Contains(err.Error(), "bucket size") {
		if s3 != nil {
			s3.Close()
		}
		t.Errorf("open with another bucket size: %v, want a bucket size error", err)
	}
}

// TestTTL checks that rows expire with the configured TTL.
func TestTTL(t *testing.T) {
	hosts := cassandraHosts(t)
	opts := testOptions(hosts)
	opts.TTL = 2 * time.Second
	s := openStore(t, opts)
	ctx := context.Background()
	r := store.Record{Tenant: "acme", Source: "/s", ID: "short-lived", Type: "t.one", Time: time.Now(), Event: []byte(`{}`)}
	if err := s.Put(ctx, []store.Record{r}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "acme", "/s", r.ID); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Get(ctx, "acme", "/s", r.ID)
		p, lerr := s.List(ctx, store.Query{Tenant: "acme"})
		if lerr != nil {
			t.Fatal(lerr)
		}
		if errors.Is(err, store.ErrNotFound) && len(p.Records) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there 30 s after a 2 s TTL: Get = %v, List = %d records", err, len(p.Records))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts cassandra.Options
		want string
	}{
		{"no hosts", cassandra.Options{}, "no hosts"},
		{"keyspace", cassandra.Options{Hosts: []string{"h"}, Keyspace: "Bad-Name"}, "keyspace"},
		{"consistency", cassandra.Options{Hosts: []string{"h"}, Consistency: "MOST"}, "consistency"},
		{"ttl", cassandra.Options{Hosts: []string{"h"}, TTL: 1500 * time.Millisecond}, "ttl"},
		{"bucket", cassandra.Options{Hosts: []string{"h"}, BucketSize: time.Second}, "bucket size"},
	} {
		_, err := cassandra.Open(context.Background(), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open = %v, want an error about %s", c.name, err, c.want)
		}
	}
	if got := cassandra.ParseHosts(" a:9042, ,b "); len(got) != 2 || got[0] != "a:9042" || got[1] != "b" {
		t.Errorf("ParseHosts = %q", got)
	}
}

// TestInterruptedPut fails Puts after each write step, as a crash
// there would, and checks that repeating the Put (what a redelivery does)
// leaves the record exactly once, at its new place, in every index.
func TestInterruptedPut(t *testing.T) {
	hosts := cassandraHosts(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, step := range []string{"bucket index", "list rows", "old list rows", "id rows"} {
		t.Run(step, func(t *testing.T) {
			s := openStore(t, testOptions(hosts))
			v1 := store.Record{Tenant: "acme", Source: "/s", ID: "r", Type: "t.one", Time: at, Event: []byte(`{"v":1}`)}
			v2 := store.Record{Tenant: "acme", Source: "/s", ID: "r", Type: "t.two", Time: at.Add(3 * time.Hour), Event: []byte(`{"v":2}`)}
			if err := s.Put(ctx, []store.Record{v1}); err != nil {
				t.Fatal(err)
			}
			cassandra.FailPutAfter(s, step)
			if err := s.Put(ctx, []store.Record{v2}); err == nil {
				t.Fatal("the injected failure did not fail the Put")
			}
			cassandra.FailPutAfter(s, "")
			if err := s.Put(ctx, []store.Record{v2}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "acme", "/s", "r")
			if err != nil || string(got.Event) != `{"v":2}` {
				t.Fatalf("Get after the repeat: %s, %v", got.Event, err)
			}
			for _, q := range []store.Query{{Tenant: "acme"}, {Tenant: "acme", Type: "t.two"}, {Tenant: "acme", Type: "t.one"}} {
				p, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if q.Type == "t.one" {
					want = 0
				}
				if len(p.Records) != want || (want == 1 && string(p.Records[0].Event) != `{"v":2}`) {
					t.Errorf("List(type %q) after the repeat: %d records, want %d of v2", q.Type, len(p.Records), want)
				}
			}
		})
	}
}

// v1Tables is migration 1's schema, frozen as it was before records were
// keyed by source.
var v1Tables = []string{
	`CREATE TABLE %s.events_by_id (tenant_id text, id blob, pos blob, type blob, source blob, subject blob, schema_id blob,
		event blob, digest blob, stored_s bigint, stored_ns int, PRIMARY KEY ((tenant_id, id)))`,
	`CREATE TABLE %s.events_by_time (tenant_id text, bucket bigint, pos blob, type blob, source blob, subject blob, schema_id blob,
		event blob, stored_s bigint, stored_ns int, PRIMARY KEY ((tenant_id, bucket), pos)) WITH CLUSTERING ORDER BY (pos ASC)`,
	`CREATE TABLE %s.events_by_type (tenant_id text, type blob, bucket bigint, pos blob, source blob, subject blob, schema_id blob,
		event blob, stored_s bigint, stored_ns int, PRIMARY KEY ((tenant_id, type, bucket), pos)) WITH CLUSTERING ORDER BY (pos ASC)`,
	`CREATE TABLE %s.event_buckets (tenant_id text, scope blob, bucket bigint, PRIMARY KEY ((tenant_id, scope), bucket))
		WITH CLUSTERING ORDER BY (bucket DESC)`,
	`CREATE TABLE %s.schema_migrations (version int PRIMARY KEY, description text, applied_at timestamp)`,
	`CREATE TABLE %s.settings (name text PRIMARY KEY, value text)`,
}

// v1TimeDesc is the time part of a v1 pos, frozen like v1Tables: the
// seconds with the sign bit flipped and the nanoseconds, both inverted.
func v1TimeDesc(t time.Time) []byte {
	b := binary.BigEndian.AppendUint64(nil, ^(uint64(t.Unix()) ^ 1<<63))
	return binary.BigEndian.AppendUint32(b, ^uint32(t.Nanosecond()))
}

func testSession(t *testing.T, hosts []string) *gocql.Session {
	t.Helper()
	c := gocql.NewCluster(hosts...)
	c.ProtoVersion, c.Consistency, c.Timeout = 4, gocql.One, 30*time.Second
	sess, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	return sess
}

func exec(t *testing.T, sess *gocql.Session, stmt string, args ...any) {
	t.Helper()
	if err := sess.Query(stmt, args...).Exec(); err != nil {
		t.Fatalf("%.80s: %v", stmt, err)
	}
}

// writeV1 creates keyspace ks as migration 1 left it (hour buckets)
// and writes recs into its tables the way the v1 store did, with write
// timestamp ts (µs) and, for records with a positive ttl, that TTL.
func writeV1(t *testing.T, sess *gocql.Session, ks string, recs []store.Record, ttl map[string]int, ts int64) {
	t.Helper()
	exec(t, sess, "DROP KEYSPACE IF EXISTS "+ks)
	exec(t, sess, "CREATE KEYSPACE "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	for _, stmt := range v1Tables {
		exec(t, sess, fmt.Sprintf(stmt, ks))
	}
	exec(t, sess, "INSERT INTO "+ks+".settings (name, value) VALUES ('bucket_seconds', '3600')")
	exec(t, sess, "INSERT INTO "+ks+".schema_migrations (version, description, applied_at) VALUES (1, 'v1', toTimestamp(now()))")
	for _, r := range recs {
		td := v1TimeDesc(r.Time)
		pos := append(td, r.ID...)
		bucket := r.Time.Unix() / 3600
		if r.Time.Unix()%3600 < 0 {
			bucket--
		}
		using := fmt.Sprintf(" USING TTL %d AND TIMESTAMP %d", ttl[r.ID], ts)
		ss, sn := r.StoredAt.Unix(), r.StoredAt.Nanosecond()
		exec(t, sess, "INSERT INTO "+ks+".events_by_id (tenant_id, id, pos, type, source, subject, schema_id, event, digest, stored_s, stored_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"+using,
			r.Tenant, []byte(r.ID), pos, []byte(r.Type), []byte(r.Source), []byte(r.Subject), []byte(r.SchemaID), r.Event, []byte("v1 digest"), ss, sn)
		exec(t, sess, "INSERT INTO "+ks+".events_by_time (tenant_id, bucket, pos, type, source, subject, schema_id, event, stored_s, stored_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"+using,
			r.Tenant, bucket, pos, []byte(r.Type), []byte(r.Source), []byte(r.Subject), []byte(r.SchemaID), r.Event, ss, sn)
		exec(t, sess, "INSERT INTO "+ks+".events_by_type (tenant_id, type, bucket, pos, source, subject, schema_id, event, stored_s, stored_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"+using,
			r.Tenant, []byte(r.Type), bucket, pos, []byte(r.Source), []byte(r.Subject), []byte(r.SchemaID), r.Event, ss, sn)
		exec(t, sess, "INSERT INTO "+ks+".event_buckets (tenant_id, scope, bucket) VALUES (?, ?, ?)", r.Tenant, []byte("t"), bucket)
		exec(t, sess, "INSERT INTO "+ks+".event_buckets (tenant_id, scope, bucket) VALUES (?, ?, ?)", r.Tenant, append([]byte("y"), r.Type...), bucket)
	}
}

// TestMigrateV1 opens a keyspace that the store before
// (tenant, source, id) keys wrote: every record must be readable by Get,
// Lookup and List, StoredAt and TTLs kept; new writes must treat the source
// as part of the identity; a migrated record re-put unchanged must change
// nothing; and running the copy again must not undo newer writes.
func TestMigrateV1(t *testing.T) {
	hosts := cassandraHosts(t)
	ctx := context.Background()
	sess := testSession(t, hosts)
	opts := testOptions(hosts)
	opts.Keyspace += "_v1"
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	stored := time.Date(2026, 3, 1, 12, 0, 1, 7, time.UTC)
	old := []store.Record{
		{Tenant: "acme", Source: "/a", ID: "x", Type: "t.one", Subject: "s", SchemaID: "t.one/v1", Time: t0, Event: []byte(`{"id":"x","source":"/a"}`), StoredAt: stored},
		{Tenant: "acme", Source: "/b", ID: "y", Type: "t.two", Time: t0.Add(time.Second), Event: []byte(`{"id":"y"}`), StoredAt: stored},
		{Tenant: "acme", Source: "/c", ID: "nul\x00id", Type: "t.one", Time: t0.Add(-3 * time.Hour), Event: []byte(`{}`), StoredAt: stored},
		{Tenant: "globex", Source: "/a", ID: "x", Type: "t.one", Time: t0, Event: []byte(`{"tenant":"globex"}`), StoredAt: stored},
	}
	writeV1(t, sess, opts.Keyspace, old, map[string]int{"y": 3600}, time.Now().Add(-time.Hour).UnixMicro())

	s, err := cassandra.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	usedKeyspaces[opts.Keyspace] = opts
	defer func() { s.Close() }()
	for _, want := range old {
		got, err := s.Get(ctx, want.Tenant, want.Source, want.ID)
		if err != nil {
			t.Fatalf("Get(%s, %q, %q) after the migration: %v", want.Tenant, want.Source, want.ID, err)
		}
		if got.Type != want.Type || got.Subject != want.Subject || got.SchemaID != want.SchemaID || !got.Time.Equal(want.Time) ||
			string(got.Event) != string(want.Event) || !got.StoredAt.Equal(want.StoredAt) {
			t.Errorf("migrated %q: %+v, want %+v", want.ID, got, want)
		}
		if l, err := s.Lookup(ctx, want.Tenant, want.ID, 0); err != nil || len(l) != 1 || l[0].Source != want.Source {
			t.Errorf("Lookup(%s, %q) after the migration: %+v, %v", want.Tenant, want.ID, l, err)
		}
	}
	listKeys := func(q store.Query) string {
		t.Helper()
		p, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range p.Records {
			keys = append(keys, r.Source+" "+r.ID)
		}
		return strings.Join(keys, ",")
	}
	if got := listKeys(store.Query{Tenant: "acme"}); got != "/b y,/a x,/c nul\x00id" {
		t.Errorf("List after the migration: %q", got)
	}
	if got := listKeys(store.Query{Tenant: "acme", Type: "t.one"}); got != "/a x,/c nul\x00id" {
		t.Errorf("List by type after the migration: %q", got)
	}
	var ttlY, ttlX int
	if err := sess.Query("SELECT TTL(event) FROM "+opts.Keyspace+".events_v2_by_id WHERE tenant_id = 'acme' AND id = ? AND source = ?",
		[]byte("y"), []byte("/b")).Scan(&ttlY); err != nil || ttlY <= 3000 || ttlY > 3600 {
		t.Errorf("TTL of the copy of a row with TTL 3600: %d, %v", ttlY, err)
	}
	if err := sess.Query("SELECT TTL(event) FROM "+opts.Keyspace+".events_v2_by_id WHERE tenant_id = 'acme' AND id = ? AND source = ?",
		[]byte("x"), []byte("/a")).Scan(&ttlX); err != nil || ttlX != 0 {
		t.Errorf("TTL of the copy of a row without TTL: %d, %v", ttlX, err)
	}

	// New writes.
	fresh := store.Record{Tenant: "acme", Source: "/new", ID: "x", Type: "t.one", Time: t0, Event: []byte(`{"id":"x","source":"/new"}`)}
	again := old[0]
	again.StoredAt = time.Time{}
	moved := old[1]
	moved.Type, moved.Time, moved.StoredAt, moved.Event = "t.three", t0.Add(2*time.Hour), time.Time{}, []byte(`{"id":"y","moved":true}`)
	if err := s.Put(ctx, []store.Record{fresh, again, moved}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if l, err := s.Lookup(ctx, "acme", "x", 0); err != nil || len(l) != 2 || l[0].Source != "/a" || l[1].Source != "/new" {
			t.Errorf("%s: Lookup(acme, x): %+v, %v", when, l, err)
		}
		if got, err := s.Get(ctx, "acme", "/a", "x"); err != nil || !got.StoredAt.Equal(stored) {
			t.Errorf("%s: migrated record re-put unchanged: StoredAt %v, %v, want %v", when, got.StoredAt, err, stored)
		}
		if got, err := s.Get(ctx, "acme", "/b", "y"); err != nil || string(got.Event) != string(moved.Event) || got.Type != "t.three" {
			t.Errorf("%s: the record moved after the migration: %+v, %v", when, got, err)
		}
		if got := listKeys(store.Query{Tenant: "acme", Type: "t.two"}); got != "" {
			t.Errorf("%s: List of the moved record's old type: %q", when, got)
		}
		if got := listKeys(store.Query{Tenant: "acme"}); got != "/b y,/a x,/new x,/c nul\x00id" {
			t.Errorf("%s: List: %q", when, got)
		}
	}
	check("after new writes")
	s.Close()

	// A second process that started copying before the first recorded
	// migration 2 copies the v1 rows again: their old timestamps must lose
	// to the writes made since.
	exec(t, sess, "DELETE FROM "+opts.Keyspace+".schema_migrations WHERE version = 2")
	if s, err = cassandra.Open(ctx, opts); err != nil {
		t.Fatal(err)
	}
	check("after copying again")
}

// TestNewKeyspace checks that a new keyspace skips migration 1's
// superseded tables and records every migration.
func TestNewKeyspace(t *testing.T) {
	hosts := cassandraHosts(t)
	sess := testSession(t, hosts)
	opts := testOptions(hosts)
	opts.Keyspace += "_new"
	exec(t, sess, "DROP KEYSPACE IF EXISTS "+opts.Keyspace)
	openStore(t, opts)
	var tables []string
	iter := sess.Query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", opts.Keyspace).Iter()
	var name string
	for iter.Scan(&name) {
		tables = append(tables, name)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tables, ","); got != "event_buckets,events_v2_by_id,events_v2_by_time,events_v2_by_type,schema_migrations,settings" {
		t.Errorf("tables of a new keyspace: %s", got)
	}
	var n int
	if err := sess.Query("SELECT COUNT(*) FROM " + opts.Keyspace + ".schema_migrations").Scan(&n); err != nil || n != cassandra.Migrations {
		t.Errorf("migrations recorded in a new keyspace: %d, %v", n, err)
	}
}
