package cassandra

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

// The Cassandra tables (migration 2). A record is (tenant, source, id). Every
// list table is clustered by pos, the same bytes as the Pebble backend's key
// suffix (store.AppendPosition): the event time inverted (12 bytes, newest
// first), then the id and the source, escaped and terminated, so that
// ascending pos is exactly the List order (time descending, then id, then
// source, ascending in byte order) and a cursor or a time bound is one
// clustering slice. Ids and the other strings are blobs because a Record may
// hold any bytes and text columns accept only UTF-8.
//
//	events_v2_by_id    ((tenant_id, id), source)   the record: Get, Lookup, the upsert's compare
//	events_v2_by_time  ((tenant_id, bucket), pos)  List without type
//	events_v2_by_type  ((tenant_id, type, bucket), pos)  List by type
//	event_buckets      ((tenant_id, scope), bucket DESC)  which buckets hold rows
//
// bucket is the event time in whole BucketSize spans since the epoch, so a
// partition holds one span of one tenant; event_buckets lets List skip
// straight from one non-empty bucket to the next (scope 't' for all types,
// 'y' followed by the type for one type), whatever the time range. Rows are
// denormalised (the event is in all three event tables): a read is one
// partition slice, at the cost of three copies.
//
// Migration 1 keyed records by (tenant, id) in events_by_id, events_by_time
// and events_by_type (pos without the source), so that a second source's
// event replaced the first's. Migration 2 copies those tables into the v2
// ones (migrate.go) and leaves them for the operator to drop; a new
// keyspace never creates them. Migration 3 adds the input column (the data
// as it arrived, store.Record.Input) to the three v2 event tables; rows
// written before hold null there.
var migrations = []migration{
	{version: 1, description: "events by id, by time and by type, and the bucket index", superseded: true, statements: []string{
		`CREATE TABLE IF NOT EXISTS {{ks}}.events_by_id (
			tenant_id text, id blob,
			pos blob, type blob, source blob, subject blob, schema_id blob, event blob,
			digest blob, stored_s bigint, stored_ns int,
			PRIMARY KEY ((tenant_id, id)))`,
		`CREATE TABLE IF NOT EXISTS {{ks}}.events_by_time (
			tenant_id text, bucket bigint, pos blob,
			type blob, source blob, subject blob, schema_id blob, event blob, stored_s bigint, stored_ns int,
			PRIMARY KEY ((tenant_id, bucket), pos)) WITH CLUSTERING ORDER BY (pos ASC)`,
		`CREATE TABLE IF NOT EXISTS {{ks}}.events_by_type (
			tenant_id text, type blob, bucket bigint, pos blob,
			source blob, subject blob, schema_id blob, event blob, stored_s bigint, stored_ns int,
			PRIMARY KEY ((tenant_id, type, bucket), pos)) WITH CLUSTERING ORDER BY (pos ASC)`,
		`CREATE TABLE IF NOT EXISTS {{ks}}.event_buckets (
			tenant_id text, scope blob, bucket bigint,
			PRIMARY KEY ((tenant_id, scope), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)`,
	}},
	{version: 2, description: "events keyed by tenant, source and id (v2 tables, copied from the v1 ones)", statements: []string{
		`CREATE TABLE IF NOT EXISTS {{ks}}.events_v2_by_id (
			tenant_id text, id blob, source blob,
			pos blob, type blob, subject blob, schema_id blob, event blob,
			digest blob, stored_s bigint, stored_ns int,
			PRIMARY KEY ((tenant_id, id), source)) WITH CLUSTERING ORDER BY (source ASC)`,
		`CREATE TABLE IF NOT EXISTS {{ks}}.events_v2_by_time (
			tenant_id text, bucket bigint, pos blob,
			type blob, subject blob, schema_id blob, event blob, stored_s bigint, stored_ns int,
			PRIMARY KEY ((tenant_id, bucket), pos)) WITH CLUSTERING ORDER BY (pos ASC)`,
		`CREATE TABLE IF NOT EXISTS {{ks}}.events_v2_by_type (
			tenant_id text, type blob, bucket bigint, pos blob,
			subject blob, schema_id blob, event blob, stored_s bigint, stored_ns int,
			PRIMARY KEY ((tenant_id, type, bucket), pos)) WITH CLUSTERING ORDER BY (pos ASC)`,
		`CREATE TABLE IF NOT EXISTS {{ks}}.event_buckets (
			tenant_id text, scope blob, bucket bigint,
			PRIMARY KEY ((tenant_id, scope), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)`,
	}, run: migrateV2},
	{version: 3, description: "the event's data as it arrived (input) in the v2 tables", run: (*Store).addInputColumns},
}

// migrateV2 is migration 2's data step. The copy writes with today's
// statements, which name migration 3's input column, so the column is
// added first (migration 3 then finds it).
func migrateV2(s *Store, ctx context.Context) error {
	if err := s.addInputColumns(ctx); err != nil {
		return err
	}
	return s.copyV1(ctx)
}

// migration is one schema version: statements ({{ks}} is the
// keyspace) then run, when set.
type migration struct {
	version     int
	description string
	statements  []string
	// superseded: a later migration creates what this one did, in its new
	// form, so a keyspace without any migration records it unapplied.
	superseded bool
	run        func(s *Store, ctx context.Context) error
}

// keyspaceCQL is every statement, with the keyspace filled in. gocql
// prepares each on first use per connection and caches it.
type keyspaceCQL struct {
	ks string

	getByID, lookupByID, readState         string
	insertByID, insertByTime, insertByType string
	deleteByTime, deleteByType             string
	insertBucket, listBuckets              string
}

func newKeyspaceCQL(ks string) keyspaceCQL {
	q := func(s string) string { return strings.ReplaceAll(s, "{{ks}}", ks) }
	return keyspaceCQL{
		ks:         ks,
		getByID:    q(`SELECT source, pos, type, subject, schema_id, event, input, stored_s, stored_ns FROM {{ks}}.events_v2_by_id WHERE tenant_id = ? AND id = ? AND source = ?`),
		lookupByID: q(`SELECT source, pos, type, subject, schema_id, event, input, stored_s, stored_ns FROM {{ks}}.events_v2_by_id WHERE tenant_id = ? AND id = ? LIMIT ?`),
		readState:  q(`SELECT pos, type, digest FROM {{ks}}.events_v2_by_id WHERE tenant_id = ? AND id = ? AND source = ?`),
		insertByID: q(`INSERT INTO {{ks}}.events_v2_by_id (tenant_id, id, source, pos, type, subject, schema_id, event, input, digest, stored_s, stored_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`),
		insertByTime: q(`INSERT INTO {{ks}}.events_v2_by_time (tenant_id, bucket, pos, type, subject, schema_id, event, input, stored_s, stored_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`),
		insertByType: q(`INSERT INTO {{ks}}.events_v2_by_type (tenant_id, type, bucket, pos, subject, schema_id, event, input, stored_s, stored_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`),
		deleteByTime: q(`DELETE FROM {{ks}}.events_v2_by_time WHERE tenant_id = ? AND bucket = ? AND pos = ?`),
		deleteByType: q(`DELETE FROM {{ks}}.events_v2_by_type WHERE tenant_id = ? AND type = ? AND bucket = ? AND pos = ?`),
		insertBucket: q(`INSERT INTO {{ks}}.event_buckets (tenant_id, scope, bucket) VALUES (?, ?, ?) USING TTL ?`),
		listBuckets:  q(`SELECT bucket FROM {{ks}}.event_buckets WHERE tenant_id = ? AND scope = ? AND bucket >= ? AND bucket <= ?`),
	}
}

// listRows is the slice of a list table in one bucket between the bounds;
// lower and upper say which pos bounds are bound ("" none, ">", ">=", "<").
func (c keyspaceCQL) listRows(byType bool, lower, upper string) string {
	var b strings.Builder
	if byType {
		b.WriteString("SELECT pos, subject, schema_id, event, input, stored_s, stored_ns FROM " + c.ks +
			".events_v2_by_type WHERE tenant_id = ? AND type = ? AND bucket = ?")
	} else {
		b.WriteString("SELECT pos, type, subject, schema_id, event, input, stored_s, stored_ns FROM " + c.ks +
			".events_v2_by_time WHERE tenant_id = ? AND bucket = ?")
	}
	if lower != "" {
		b.WriteString(" AND pos " + lower + " ?")
	}
	if upper != "" {
		b.WriteString(" AND pos " + upper + " ?")
	}
	b.WriteString(" LIMIT ?")
	return b.String()
}

// migrate creates the keyspace and applies the migrations not yet recorded.
// Every statement is IF NOT EXISTS, so two processes migrating at once, or a
// crash between a migration and its record, are harmless. The bucket size
// is recorded once (a lightweight transaction) and checked on every open.
func (s *Store) migrate(ctx context.Context) error {
	ks := s.opts.Keyspace
	ddl := []string{
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", ks, s.opts.Replication),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.schema_migrations (version int PRIMARY KEY, description text, applied_at timestamp)", ks),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.settings (name text PRIMARY KEY, value text)", ks),
	}
	for _, stmt := range ddl {
		if err := s.session.Query(stmt).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("%.60s: %w", stmt, err)
		}
	}
	applied := map[int]bool{}
	iter := s.session.Query("SELECT version FROM " + ks + ".schema_migrations").WithContext(ctx).Iter()
	var v int
	for iter.Scan(&v) {
		applied[v] = true
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	fresh := len(applied) == 0
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		description := m.description
		if fresh && m.superseded {
			description = "skipped on a new keyspace: " + m.description
		} else if err := s.apply(ctx, m); err != nil {
			return err
		}
		err := s.session.Query("INSERT INTO "+ks+".schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
			m.version, description, time.Now()).WithContext(ctx).Exec()
		if err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
		s.opts.Logger.Info("cassandra migration applied", "keyspace", ks, "version", m.version, "description", description)
	}
	return s.checkBucketSize(ctx)
}

func (s *Store) apply(ctx context.Context, m migration) error {
	for _, stmt := range m.statements {
		stmt = strings.ReplaceAll(stmt, "{{ks}}", s.opts.Keyspace)
		if err := s.session.Query(stmt).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("migration %d: %.60s: %w", m.version, stmt, err)
		}
	}
	if m.run != nil {
		if err := m.run(s, ctx); err != nil {
			return fmt.Errorf("migration %d: %w", m.version, err)
		}
	}
	return nil
}

func (s *Store) checkBucketSize(ctx context.Context) error {
	want := strconv.FormatInt(s.bucket, 10)
	var name, got string
	applied, err := s.session.Query("INSERT INTO "+s.opts.Keyspace+".settings (name, value) VALUES ('bucket_seconds', ?) IF NOT EXISTS", want).
		WithContext(ctx).SerialConsistency(gocql.LocalSerial).ScanCAS(&name, &got)
	if err != nil {
		return fmt.Errorf("record bucket size: %w", err)
	}
	if !applied && got != want {
		return fmt.Errorf("bucket size %ss differs from the keyspace's %ss", want, got)
	}
	return nil
}
