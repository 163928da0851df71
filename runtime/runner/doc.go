// Package runner normalises and validates events and moves them from ER_RAW
// to ER_PROC.
//
// Normalize is the one definition of an acceptable event, shared by the
// HTTP ingest (which answers 4xx with the *Error it returns) and the
// Runner: the CloudEvents spec, a tenant and a type that fit in subjects, a
// schema from the bundle (by dataschema, else the type's latest version),
// and data that decodes into the generated fact and passes its validator.
//
// The Runner is a durable pull consumer on ER_RAW for NATS-native
// producers: it reads structured CloudEvents, binary-mode CloudEvents
// (ce-* headers) and raw JSON (wrapped into a CloudEvent), publishes each
// valid event to er.proc.<tenant>.<type> and each invalid one to
// er.dlq.<tenant> with the reason in headers, and acks the raw message only
// once its own publish is acknowledged.
//
// Imports: runtime/bus, runtime/rules, runtime/cloudevents, nats.go,
// client_golang and the standard library. Never generated/ or gen/.
package runner
