// Package dlq reads, selects, redrives and purges the dead letters of one
// tenant: the messages on er.dlq.<tenant> in ER_DLQ (runtime/bus).
//
// A redrive reads the original event out of a dead letter as the stage that
// refused it read it (runner.Runner.Event for what came in on er.raw, the
// structured CloudEvent for what the engine refused) and hands it to the
// ingest path (accept.Acceptor): validated under the current schemas,
// published to ER_PROC, run through the current rules by the engine. The
// event keeps its identity (tenant, source, id), so the store and the
// tenant stream keep one copy however often it is redriven. The outcome is
// a marker in the KV bucket ER_DLQ_REDRIVE (key <tenant>.<seq>), shared by
// every process; a rejected redrive also leaves a new dead letter.
//
// Handler serves it over HTTP under /v1/dlq, scoped by the tenant's API key
// (or the admin key with ?tenant=).
//
// Imports: runtime/accept, runtime/bus, runtime/cloudevents,
// runtime/runner (its reading of raw messages), runtime/problem,
// runtime/tenant, nats.go, client_golang and the standard library.
package dlq
