// Package bus is eventrunner's NATS JetStream plumbing: the embedded
// nats-server, client connections, the three shared streams of the data flow
// (ER_RAW, ER_PROC, ER_DLQ), their subject names, the header names
// that carry event metadata, a publisher with synchronous and batched
// asynchronous publishes, a batching pull-consumer loop, and the structured
// CloudEvent as it travels on the streams (a reflection-free codec).
//
// Subjects (DESIGN §4):
//
//	er.raw.<tenant>[.<type>]   ER_RAW         events as NATS producers send them
//	er.proc.<tenant>.<type>    ER_PROC        normalised, validated events (work queue)
//	er.t.<tenant>.<type>       ER_T_<tenant>  processed events, in the tenant's own stream
//	er.dlq.<tenant>            ER_DLQ         rejected events, the reason in headers
//
// An event type is a dotted name and becomes several subject tokens, so
// er.t.acme.com.acme.order.> selects every order event of tenant acme. The
// tenant streams (runtime/tenant/tenantnats) are created per tenant, so a
// processed event is written once, into its tenant's stream.
//
// Imports: nats-server, nats.go (its jetstream package), jwt (the
// embedded server's operator and accounts), the Prometheus client and the standard
// library. Never generated/ or gen/.
package bus
