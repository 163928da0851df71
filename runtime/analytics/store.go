package analytics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Store is the ClickHouse side: inserts of event rows and count queries.
type Store struct {
	conn driver.Conn
	db   string
}

// Row is one processed event as ClickHouse keeps it.
type Row struct {
	Tenant, ID, Type, Source, Subject, Schema string
	// Time is the event time; zero (no time attribute) is stored as the
	// ingest time.
	Time       time.Time
	IngestTime time.Time
	// StreamSeq is the event's sequence in its tenant's stream ER_T_<tenant>
	// (for tracing a row back).
	StreamSeq uint64
}

// Open connects to the ClickHouse of dsn (clickhouse://user:password@host:9000/database?dial_timeout=10s,
// native protocol) and creates the tables.
func Open(ctx context.Context, dsn string) (*Store, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("analytics: clickhouse dsn: %w", err)
	}
	if opts.Protocol != clickhouse.Native {
		return nil, errors.New("analytics: clickhouse dsn: only the native protocol (clickhouse://, port 9000) is supported")
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "default"
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("analytics: clickhouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("analytics: clickhouse %s: %w", strings.Join(opts.Addr, ","), err)
	}
	s := &Store{conn: conn, db: opts.Auth.Database}
	if err := s.Migrate(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Insert writes rows in one batch. version must grow between inserts of the
// same rows (a replay) so that the ReplacingMergeTree keeps the latest.
func (s *Store) Insert(ctx context.Context, rows []Row, version uint64) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+quoteIdent(s.db)+"."+EventsTable+" ("+insertColumns+")")
	if err != nil {
		return fmt.Errorf("analytics: prepare insert: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		t := r.Time
		if t.IsZero() {
			t = r.IngestTime
		}
		t = clampDateTime(t)
		if err := b.Append(r.Tenant, r.ID, r.Type, r.Source, r.Subject, r.Schema,
			t, uint32(t.Nanosecond()), clampDateTime(r.IngestTime), r.StreamSeq, version); err != nil {
			b.Abort()
			return fmt.Errorf("analytics: append row %s/%s: %w", r.Tenant, r.ID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("analytics: insert %d rows: %w", len(rows), err)
	}
	return nil
}

// DateTime holds 1970-01-01 .. 2105-12-31 (UInt32 seconds).
var (
	minDateTime = time.Unix(0, 0).UTC()
	maxDateTime = time.Unix(1<<32-1, 0).UTC()
)

// clampDateTime keeps t inside DateTime's range: an event claiming the year
// 1 or 9999 is counted at the edge rather than wrapped around.
func clampDateTime(t time.Time) time.Time {
	switch {
	case t.Before(minDateTime):
		return minDateTime
	case t.After(maxDateTime):
		return maxDateTime
	}
	return t.UTC()
}
