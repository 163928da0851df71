// Package runner moves events from ER_RAW to ER_PROC, normalised and
// validated by runtime/accept, the one definition of an acceptable event.
//
// The Runner is a durable pull consumer on ER_RAW for NATS-native
// producers: it reads structured CloudEvents, binary-mode CloudEvents
// (ce-* headers) and raw JSON (wrapped into a CloudEvent), publishes each
// valid event to er.proc.<tenant>.<type> and each invalid one to
// er.dlq.<tenant> with the reason in headers, and acks the raw message only
// once its own publish is acknowledged.
//
// Imports: runtime/accept, runtime/bus, runtime/rules, runtime/cloudevents, runtime/dataschema, nats.go,
// client_golang and the standard library. Never generated/ or gen/.
package runner
