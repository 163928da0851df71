// Package app assembles a running engine: NATS (embedded or external), the
// streams, the store, the runner, the engine, the HTTP API and the
// operational endpoints, with an orderly shutdown that drains in-flight
// work. cmd/eventrunner's serve command is a thin layer over it.
//
// It imports the other runtime packages and takes the compiled bundle as a
// *rules.Registry; it never imports generated/ or gen/.
package app
