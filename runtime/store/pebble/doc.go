// Package pebble is the embedded store.Store that `eventrunner serve` uses
// by default: one Pebble database in a directory (Open), written by a single
// goroutine that group-commits concurrent Puts (writer.go). keys.go holds the
// key layout, record.go the value encodings, and migrate.go rewrites a store
// of the layout before records were keyed by source (docs/storage.md).
//
// It imports the standard library, Pebble (github.com/cockroachdb/pebble/v2,
// under its own name: this package's name is not in scope in its files) and
// runtime/store only.
package pebble
