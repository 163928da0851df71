package store

import (
	"context"
	"errors"
)

// TruncateCassandra empties the event tables, so that a test gets an empty
// store without paying for new tables (a schema change takes about a second).
func TruncateCassandra(ctx context.Context, s *Cassandra) error {
	for _, table := range []string{"events_v2_by_id", "events_v2_by_time", "events_v2_by_type", "event_buckets"} {
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

// FailCassandraPutAfter makes the store's Puts fail right after write step
// ("bucket index", "list rows", "old list rows", "id rows"), as a process
// crashing there would; "" restores it.
func FailCassandraPutAfter(s *Cassandra, step string) {
	if step == "" {
		s.afterStep = nil
		return
	}
	s.afterStep = func(got string) error {
		if got == step {
			return errors.New("injected crash after " + step)
		}
		return nil
	}
}
