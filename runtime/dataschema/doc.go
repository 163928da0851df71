// Package dataschema defines eventrunner's CloudEvents dataschema values:
// the canonical URL of a schema version, <base>/v1/schemas/<type>/v<N>,
// which is an absolute URI as the CloudEvents spec and its SDKs require and
// which the HTTP API serves the JSON Schema document at; and the forms a
// producer may send, which name a schema version of the event's own type.
//
// Imports: the standard library only, so that the runner, the engine, the
// query API and the commands share one definition.
package dataschema
