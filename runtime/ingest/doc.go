// Package ingest is the HTTP front door: POST /v1/events in the CloudEvents
// HTTP protocol binding 1.0 (binary, structured and batch modes) plus raw
// JSON. It authenticates the tenant, normalises and validates each event,
// publishes the valid ones durably and answers 202 only after JetStream has
// stored them; errors are RFC 9457 problem details naming the field.
//
// Bodies are read through a byte limit (a declared Content-Length over it
// is answered 413 before any read) and a minimum rate (408 for a stalled or
// trickling body); binary-mode ce-* headers count toward the event's size.
// docs/hostile-input.md lists what hostile input gets.
//
// It imports runtime/cloudevents, runtime/accept (the Normalizer and the
// publish path), runtime/tenant (API keys and limits), runtime/problem (problem details) and the Prometheus
// client; never generated/ or gen/.
package ingest
