// Package store keeps processed events so that they can be read back by id
// and listed per tenant in event-time order. It defines the Store contract
// (Record, Query, Page, the opaque cursor) shared by every backend, and the
// embedded Pebble backend that `eventrunner serve` uses by default, and the
// Cassandra/ScyllaDB backend (cassandra*.go, docs/storage.md) it uses with
// --cassandra-hosts.
//
// A backend is an upsert keyed by (tenant, source, id), a CloudEvent's
// identity: the engine may write the same processed event again after a
// redelivery and the store must neither duplicate nor disturb it, while the
// same id from another source is another record (Lookup finds every source's
// record of an id). Lists are ordered by event time descending, then id and
// source ascending, the clustering order of the Cassandra design (DESIGN §5),
// so that every backend pages the same way. Stores written before the source
// joined the key are migrated when opened (pebble_migrate.go,
// cassandra_migrate.go). storetest holds the contract tests
// every backend runs.
//
// It imports the standard library, Pebble and gocql only; it never imports
// generated/, gen/ or the other runtime packages.
package store
