// Package grpcingest serves gRPC ingest: the generic CloudEvents service
// (cepb.CloudEventIngest, over the CloudEvents spec's protobuf format) and
// the typed services generated from the schemas, which reach it through
// rules.TypedSink. Both end in the same path as HTTP ingest: runtime/accept's
// Normalizer and one batch of JetStream publishes to er.proc, acknowledged
// only once stored and deduplicated by Nats-Msg-Id.
//
// Messages are (un)marshalled by vtprotobuf-generated code (see Codec), API
// keys come from metadata, refusals carry google.rpc error details.
//
// Imports grpc-go, vtprotobuf's runtime, runtime/grpcingest/cepb (the generated
// messages), runtime/cloudevents, runtime/accept (the Normalizer and the
// publish path), runtime/rules, runtime/tenant (API keys) and the standard
// library; never generated/ or gen/.
package grpcingest
