// Package cassandra is the store.Store on Apache Cassandra or ScyllaDB, the
// backend `eventrunner serve` uses with --cassandra-hosts (Open, Options).
// schema.go holds the tables and their migrations, put.go the upsert,
// read.go Get, Lookup and List, and migrate.go copies the rows of the tables
// before records were keyed by source (docs/storage.md). Its tests need a
// real Cassandra (EVENTRUNNER_CASSANDRA_HOSTS) and skip without one.
//
// It imports the standard library, gocql, golang.org/x/sync and
// runtime/store only.
package cassandra
