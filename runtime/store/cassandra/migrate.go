package cassandra

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"
	"golang.org/x/sync/errgroup"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// copyV1 is migration 2's data step: every row of the v1 id table (keyed by
// tenant and id) is written into the three v2 tables at its v2 position.
// Each copy carries the v1 row's write timestamp and remaining TTL, so that
// it never overwrites what a migrated process wrote since (a later
// timestamp, or a later delete's tombstone, wins) and expires when the
// original would have: several processes may copy at once, and a copy cut
// short is simply run again at the next open. The bucket index is the same
// table in both layouts and already lists every v1 row's buckets.
func (s *Store) copyV1(parent context.Context) error {
	var name string
	err := s.session.Query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = 'events_by_id'",
		s.opts.Keyspace).WithContext(parent).Scan(&name)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil // created after migration 1 was superseded: nothing to copy
	}
	if err != nil {
		return fmt.Errorf("look for the v1 tables: %w", err)
	}
	// The copy takes as long as the data needs: a deadline meant for
	// connecting (serve allows two minutes) must not cut it short, or every
	// restart would begin it again. Cancellation still stops it.
	ctx, stop := context.WithCancel(context.WithoutCancel(parent))
	defer stop()
	defer context.AfterFunc(parent, func() {
		if errors.Is(parent.Err(), context.Canceled) {
			stop()
		}
	})()
	start := time.Now()
	iter := s.session.Query(`SELECT tenant_id, id, pos, type, source, subject, schema_id, event, stored_s, stored_ns,
		TTL(event), WRITETIME(event) FROM ` + s.opts.Keyspace + `.events_by_id`).WithContext(ctx).PageSize(500).Iter()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	n := 0
	for gctx.Err() == nil {
		var r store.Record
		var id, pos []byte
		var storedS, written int64
		var storedNs, ttl int
		if !iter.Scan(&r.Tenant, &id, &pos, &r.Type, &r.Source, &r.Subject, &r.SchemaID, &r.Event, &storedS, &storedNs, &ttl, &written) {
			break
		}
		t, rest, err := store.DecodeTimeDesc(pos)
		if err != nil || string(rest) != string(id) {
			s.opts.Logger.Error("cassandra migration: v1 row with a malformed position, not copied", "tenant", r.Tenant, "id", string(id))
			continue
		}
		r.ID, r.Time, r.StoredAt = string(id), t, time.Unix(storedS, int64(storedNs)).UTC()
		c := newCasRecord(r)
		c.bucket = s.bucketOf(c.r.Time)
		g.Go(func() error { return s.copyRecord(gctx, c, ttl, written) })
		if n++; n%100000 == 0 {
			s.opts.Logger.Info("cassandra migration: copying v1 rows", "keyspace", s.opts.Keyspace, "rows", n)
		}
	}
	err = errors.Join(iter.Close(), g.Wait())
	if err != nil {
		return fmt.Errorf("copy v1 rows (%d read): %w", n, err)
	}
	s.opts.Logger.Info("cassandra migration: v1 rows copied to the (tenant, source, id) tables", "keyspace", s.opts.Keyspace,
		"rows", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// copyRecord writes the v2 rows of one v1 record, list rows first as a Put
// does, with the v1 row's timestamp (µs) and remaining TTL (0: none).
func (s *Store) copyRecord(ctx context.Context, c *casRecord, ttl int, written int64) error {
	for _, q := range []struct {
		stmt string
		args []any
	}{
		{s.cql.insertByTime, c.timeArgs(ttl)},
		{s.cql.insertByType, c.typeArgs(ttl)},
		{s.cql.insertByID, c.idArgs(ttl)},
	} {
		if err := s.session.Query(q.stmt, q.args...).WithContext(ctx).WithTimestamp(written).Idempotent(true).Exec(); err != nil {
			return fmt.Errorf("%s %q/%q: %w", c.r.Tenant, c.r.Source, c.r.ID, err)
		}
	}
	return nil
}

// addInputColumns is migration 3: the input column in the three v2 event
// tables. ALTER TABLE … ADD has no IF NOT EXISTS on every Cassandra and
// ScyllaDB version this store supports, so each column is looked up first;
// another process adding it meanwhile is not an error either.
func (s *Store) addInputColumns(ctx context.Context) error {
	for _, table := range []string{"events_v2_by_id", "events_v2_by_time", "events_v2_by_type"} {
		if ok, err := s.hasColumn(ctx, table, "input"); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		err := s.session.Query("ALTER TABLE " + s.opts.Keyspace + "." + table + " ADD input blob").WithContext(ctx).Exec()
		if err == nil {
			continue
		}
		if ok, cerr := s.hasColumn(ctx, table, "input"); cerr != nil || !ok {
			return fmt.Errorf("add %s.input: %w", table, err)
		}
	}
	return nil
}

func (s *Store) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var name string
	err := s.session.Query("SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ? AND column_name = ?",
		s.opts.Keyspace, table, column).WithContext(ctx).Scan(&name)
	switch {
	case errors.Is(err, gocql.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look for %s.%s: %w", table, column, err)
	}
	return true, nil
}
