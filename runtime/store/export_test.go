package store

import "context"

// TruncateCassandra empties the event tables, so that a test gets an empty
// store without paying for new tables (a schema change takes about a second).
func TruncateCassandra(ctx context.Context, s *Cassandra) error {
	for _, table := range []string{"events_by_id", "events_by_time", "events_by_type", "event_buckets"} {
		if err := s.session.Query("TRUNCATE " + s.opts.Keyspace + "." + table).WithContext(ctx).Exec(); err != nil {
			return err
		}
	}
	return nil
}

// DropCassandraKeyspace removes the store's keyspace.
func DropCassandraKeyspace(ctx context.Context, s *Cassandra) error {
	return s.session.Query("DROP KEYSPACE IF EXISTS " + s.opts.Keyspace).WithContext(ctx).Exec()
}
