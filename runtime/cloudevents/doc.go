// Package cloudevents holds eventrunner's CloudEvent value and the structured
// JSON format of the CloudEvents 1.0 spec: parsing with attribute checks and
// encoding. Decoding refuses, naming the attribute, what would otherwise be
// stored ambiguous or mangled: invalid UTF-8 and unpaired surrogates,
// control characters, duplicate members, non-scalar extensions and
// eventrunner's own extensions (ReservedExtensions).
//
// The protocol bindings' helpers live here too: HTTP binary mode
// (FromHTTPBinary, PercentDecode), NATS binary mode (FromNATSBinary) and the
// event that wraps a plain JSON body (WrapJSON), shared by HTTP ingest and
// the runner. It imports only the standard library and runtime/jsonscan, the
// JSON scanner it shares with the generated decoders (runtime/rules).
package cloudevents
