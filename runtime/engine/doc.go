// Package engine processes normalised events: a durable pull consumer on
// ER_PROC that decodes each event's data into its typed fact (reused per
// worker, no reflection), runs every knowledge base bound to the event's
// schema in name order over one reusable rules.Exec, writes the processed
// events to the store in one batch, publishes them to
// er.t.<tenant>.<type> (unless a rule dropped them) and only then acks.
//
// Every step is idempotent, so a redelivery after a crash duplicates
// nothing: the store upserts by (tenant, source, id) and the processed event is
// byte-identical on reprocessing; publishes carry the event's Nats-Msg-Id.
// A rule failure (MaxCycleError, RuleError) dead-letters the event with the
// reason; a store or publish failure redelivers it with a growing delay.
//
// The knowledge bases come from a RuleSet held in an atomic pointer:
// SwapRules installs a new set (hot-reloaded interpreted rules) while
// batches in flight finish on the set they started with.
//
// A store record keeps the event's data as it arrived beside the processed
// event, so that stored history can be replayed through other rules
// (`eventrunner rules diff`).
//
// Processed events carry the canonical dataschema of the version they were
// decoded as (Options.SchemaBase), an absolute URI the HTTP API serves.
//
// Imports: runtime/bus, runtime/rules, runtime/cloudevents, runtime/dataschema, runtime/store
// (for its Record), nats.go, client_golang and the standard library. Never
// generated/ or gen/.
package engine
