package analytics

import (
	"context"
	"fmt"
	"strings"
)

// Table names. Both live in the DSN's database.
const (
	EventsTable    = "er_events"
	PerMinuteTable = "er_events_per_minute"
)

// ddl creates the tables; {{db}} is the database. Event times are seconds
// (DateTime: 18.16 has no DateTime64) plus the nanoseconds in a column of
// their own, in UTC whatever the server's time zone. An event is its
// tenant, source and id: version orders the copies of a replayed row (the
// latest insert wins), and the per-minute rollup counts distinct (source,
// id) pairs so that copies never add up and two sources' same id both do.
var ddl = []string{eventsDDL(EventsTable), perMinuteDDL("")}

func eventsDDL(table string) string {
	return `CREATE TABLE IF NOT EXISTS {{db}}.` + table + ` (
		tenant String,
		id String,
		type String,
		source String,
		subject String,
		schema String,
		event_time DateTime('UTC'),
		event_time_ns UInt32,
		ingest_time DateTime('UTC'),
		stream_seq UInt64,
		version UInt64
	) ENGINE = ReplacingMergeTree(version)
	PARTITION BY toYYYYMM(event_time)
	ORDER BY ` + eventsKey
}

// eventsKey is er_events' sorting key: rows equal in it are one event.
const eventsKey = "(tenant, type, event_time, id, source)"

// perMinuteDDL creates the rollup; populate is "POPULATE" to fill it from
// the rows already in er_events.
func perMinuteDDL(populate string) string {
	return `CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.` + PerMinuteTable + `
	ENGINE = AggregatingMergeTree()
	PARTITION BY toYYYYMM(minute)
	ORDER BY (tenant, type, minute) ` + populate + `
	AS SELECT tenant, type, toStartOfMinute(event_time) AS minute, uniqExactState(source, id) AS ids
	FROM {{db}}.` + EventsTable + `
	GROUP BY tenant, type, minute`
}

// insertColumns is the explicit column list of every insert: 18.16 refuses
// a native batch without one.
const insertColumns = "tenant, id, type, source, subject, schema, event_time, event_time_ns, ingest_time, stream_seq, version"

// Migrate creates the tables when absent; safe to run from several
// processes and on every start.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.upgradeIdentity(ctx); err != nil {
		return err
	}
	return s.exec(ctx, ddl...)
}

func (s *Store) exec(ctx context.Context, stmts ...string) error {
	for _, stmt := range stmts {
		stmt = strings.ReplaceAll(stmt, "{{db}}", quoteIdent(s.db))
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("analytics: migrate: %.70s: %w", strings.Join(strings.Fields(stmt), " "), err)
		}
	}
	return nil
}

// BeforeSourceTable keeps er_events as it was before the upgrade to
// source + id identity, until the operator drops it.
const BeforeSourceTable = EventsTable + "_before_source"

// upgradeIdentity rebuilds an er_events made before an event's identity was
// its source and id, whose key (tenant, type, event_time, id) merged two
// sources' events of the same id and time into one row, as its rollup
// counted them as one. The new table takes er_events' name first, so that
// inserts from now on land in it; the old rows are copied over (a row
// inserted twice collapses on merge) and the rollup is rebuilt from them.
// The old table stays as er_events_before_source.
func (s *Store) upgradeIdentity(ctx context.Context) error {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", s.db, EventsTable).Scan(&n); err != nil {
		return fmt.Errorf("analytics: migrate: %w", err)
	}
	if n == 0 {
		return nil
	}
	var create string
	if err := s.conn.QueryRow(ctx, "SHOW CREATE TABLE "+quoteIdent(s.db)+"."+EventsTable).Scan(&create); err != nil {
		return fmt.Errorf("analytics: migrate: %w", err)
	}
	if strings.Contains(create, "id, source)") {
		return nil
	}
	const next = EventsTable + "_next"
	db := "{{db}}."
	return s.exec(ctx,
		eventsDDL(next),
		"DROP TABLE IF EXISTS "+db+PerMinuteTable,
		"RENAME TABLE "+db+EventsTable+" TO "+db+BeforeSourceTable+", "+db+next+" TO "+db+EventsTable,
		"INSERT INTO "+db+EventsTable+" ("+insertColumns+") SELECT "+insertColumns+" FROM "+db+BeforeSourceTable,
		perMinuteDDL("POPULATE"),
	)
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
