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
// their own, in UTC whatever the server's time zone. version orders the
// copies of a replayed row (the latest insert wins); the per-minute rollup
// counts distinct ids so that copies never add up.
var ddl = []string{
	`CREATE TABLE IF NOT EXISTS {{db}}.er_events (
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
	ORDER BY (tenant, type, event_time, id)`,
	`CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.er_events_per_minute
	ENGINE = AggregatingMergeTree()
	PARTITION BY toYYYYMM(minute)
	ORDER BY (tenant, type, minute)
	AS SELECT tenant, type, toStartOfMinute(event_time) AS minute, uniqExactState(id) AS ids
	FROM {{db}}.er_events
	GROUP BY tenant, type, minute`,
}

// insertColumns is the explicit column list of every insert: 18.16 refuses
// a native batch without one.
const insertColumns = "tenant, id, type, source, subject, schema, event_time, event_time_ns, ingest_time, stream_seq, version"

// Migrate creates the tables when absent; safe to run from several
// processes and on every start.
func (s *Store) Migrate(ctx context.Context) error {
	for _, stmt := range ddl {
		stmt = strings.ReplaceAll(stmt, "{{db}}", quoteIdent(s.db))
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("analytics: migrate: %.70s: %w", strings.Join(strings.Fields(stmt), " "), err)
		}
	}
	return nil
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
