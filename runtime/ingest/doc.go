// Package ingest is the HTTP front door: POST /v1/events in the CloudEvents
// HTTP protocol binding 1.0 (binary, structured and batch modes) plus raw
// JSON. It authenticates the tenant, normalises and validates each event,
// publishes the valid ones durably and answers 202 only after JetStream has
// stored them; errors are RFC 9457 problem details naming the field.
//
// It imports runtime/rules, runtime/cloudevents and the bus/runner
// packages; never generated/ or gen/.
package ingest
