// Package accept is the one definition of an acceptable event, shared by
// every ingest path (HTTP, gRPC and the runner's raw NATS): Normalize
// checks the CloudEvents spec, a tenant and a type that fit in subjects, a
// schema from the bundle (by dataschema, else the type's latest version) and
// data that decodes into the generated fact and passes its validator, and
// refuses with an *Error of a Kind (the dead letter's Er-Dlq-Kind, the HTTP
// status, the gRPC code). Acceptor publishes the accepted ones to ER_PROC
// in one batch: the publish path of HTTP and gRPC ingest.
//
// Imports: runtime/bus, runtime/cloudevents, runtime/dataschema,
// runtime/rules, nats.go and the standard library. Never generated/ or gen/.
package accept
