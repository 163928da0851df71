// Package cepb holds the Go code of the CloudEvents spec's protobuf format
// (io.cloudevents.v1) and of eventrunner's generic ingest service
// (eventrunner.ingest.v1), with vtprotobuf marshalling. The .proto files are
// under proto/ for clients in other languages.
package cepb

//go:generate go run ../../../gen/protogen/cmd/cegen -out .
