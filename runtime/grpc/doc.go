// Package grpc serves gRPC ingest: the generic CloudEvents service
// (cepb.CloudEventIngest, over the CloudEvents spec's protobuf format) and
// the typed services generated from the schemas, which reach it through
// rules.TypedSink. Both end in the same path as HTTP ingest: the runner's
// Normalizer and one batch of JetStream publishes to er.proc, acknowledged
// only once stored and deduplicated by Nats-Msg-Id.
//
// Messages are (un)marshalled by vtprotobuf-generated code (see Codec), API
// keys come from metadata, refusals carry google.rpc error details. It
// imports runtime packages only, never generated/.
package grpc
