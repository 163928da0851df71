// Package analytics feeds processed events to ClickHouse and answers a
// tenant's event counts over time from it.
//
// The Feeder runs a durable pull consumer on each tenant's stream
// ER_T_<tenant> (tenants.go: Add, Remove and Sync follow the registry at
// runtime), reached through tenantnats.Streams, so in the tenant's own
// account when tenants have accounts. Every consumer feeds one batcher
// (feeder.go), which collects up to MaxRows events or FlushInterval's
// worth, inserts them in one native-protocol batch with an explicit column
// list while the next batch fills, and acknowledges them only after
// ClickHouse accepted the insert. A row's tenant is the consumer's, not
// anything the event says. Processes feeding the same ClickHouse share the
// consumers, so each event is inserted by one of them. A crash
// between the insert and the acks replays the batch, so the tables are built
// to make replays harmless:
//
//	er_events             ReplacingMergeTree keyed (tenant, type, event_time, id, source):
//	                      a replayed row collapses into the original on merge
//	er_events_per_minute  AggregatingMergeTree fed by a materialised view with
//	                      uniqExactState(source, id) per (tenant, type, minute): a count
//	                      of distinct events, exact whether or not the replayed rows
//	                      have been merged yet
//
// The DDL uses only what Debian's ClickHouse 18.16 and current releases both
// accept (no DateTime64, Map, JSON, TTL or CODEC). Counts (and the HTTP
// endpoint GET /v1/stats/counts) read the rollup.
//
// Imports: clickhouse-go v2, nats.go's jetstream, the Prometheus client,
// runtime/bus, runtime/cloudevents (decoding events),
// runtime/tenant/tenantnats (the tenants' streams), runtime/ingest and runtime/tenant (authentication),
// runtime/problem (problem details) and the standard library; never generated/ or gen/.
package analytics
