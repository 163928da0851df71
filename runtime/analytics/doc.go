// Package analytics feeds processed events to ClickHouse and answers a
// tenant's event counts over time from it.
//
// The Feeder is a durable JetStream consumer over ER_ANALYTICS, a stream that
// sources every tenant's processed events from the tenant streams and exists
// only when analytics is on (EnsureStream follows the tenants): it pulls up to MaxRows messages or FlushInterval's worth,
// inserts them in one native-protocol batch with an explicit column list,
// and acknowledges them only after ClickHouse accepted the insert. A crash
// between the insert and the acks replays the batch, so the tables are built
// to make replays harmless:
//
//	er_events             ReplacingMergeTree keyed (tenant, type, event_time, id):
//	                      a replayed row collapses into the original on merge
//	er_events_per_minute  AggregatingMergeTree fed by a materialised view with
//	                      uniqExactState(id) per (tenant, type, minute): a count
//	                      of distinct ids, exact whether or not the replayed rows
//	                      have been merged yet
//
// The DDL uses only what Debian's ClickHouse 18.16 and current releases both
// accept (no DateTime64, Map, JSON, TTL or CODEC). Counts (and the HTTP
// endpoint GET /v1/stats/counts) read the rollup.
//
// Imports: clickhouse-go v2, nats.go's jetstream, the Prometheus client,
// runtime/bus, runtime/tenant/tenantnats (stream names), runtime/ingest
// (authentication, problem details) and the standard library; never
// generated/ or gen/.
package analytics
