package cassandra

import (
	"context"
	"errors"
)

// Truncate empties the event tables, so that a test gets an empty store
// without paying for new tables (a schema change takes about a second).
func Truncate(ctx context.Context, s *Store) error {
	for _, table := range []string{"events_v2_by_id", "events_v2_by_time", "events_v2_by_type", "event_buckets"} {
		if err := s.session.Query("TRUNCATE " + s.opts.Keyspace + "." + table).WithContext(ctx).Exec(); err != nil {
			return err
		}
	}
	return nil
}

// DropKeyspace removes the store's keyspace.
func DropKeyspace(ctx context.Context, s *Store) error {
	return s.session.Query("DROP KEYSPACE IF EXISTS " + s.opts.Keyspace).WithContext(ctx).Exec()
}

// FailPutAfter makes the store's Puts fail right after write step
// ("bucket index", "list rows", "old list rows", "id rows"), as a process
// crashing there would; "" restores it.
func FailPutAfter(s *Store, step string) {
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

// Migrations is how many schema migrations a keyspace records.
var Migrations = len(migrations)
