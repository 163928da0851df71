// Package store keeps processed events so that they can be read back by id
// and listed per tenant in event-time order. It defines the Store contract
// (Record, Query, Page, the errors, CheckRecord, the opaque cursor) shared by
// every backend, and the byte encoding of List order the backends sort by
// (order.go). The backends are packages of their own, so that each one's
// client library stays out of the others' builds: store/pebble, the embedded
// default of `eventrunner serve`, and store/cassandra, the
// Cassandra/ScyllaDB backend (docs/storage.md) it uses with
// --cassandra-hosts. storetest holds the contract tests every backend runs.
//
// A backend is an upsert keyed by (tenant, source, id), a CloudEvent's
// identity: the engine may write the same processed event again after a
// redelivery and the store must neither duplicate nor disturb it, while the
// same id from another source is another record (Lookup finds every source's
// record of an id). Lists are ordered by event time descending, then id and
// source ascending, the clustering order of the Cassandra design (DESIGN §5),
// so that every backend pages the same way. Stores written before the source
// joined the key are migrated when opened (pebble/migrate.go,
// cassandra/migrate.go).
//
// It imports the standard library only; it never imports generated/, gen/,
// its backends or the other runtime packages.
package store
