// Package query serves the read side of the HTTP API over a store.Store:
// GET /v1/events/{id}[?source=] and GET /v1/events?type=&from=&to=&cursor=&limit=,
// always scoped to the tenant of the caller's API key. An event is
// (source, id): GET by id alone answers the only event with that id, or 300
// Multiple Choices listing each source's with the URL that picks it.
//
// Answered events carry the canonical dataschema (Handler.SchemaBase).
//
// It imports runtime/store, runtime/cloudevents, runtime/dataschema and
// runtime/ingest and runtime/tenant (authentication), runtime/problem (problem details); never
// generated/ or gen/.
package query
