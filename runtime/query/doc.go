// Package query serves the read side of the HTTP API over a store.Store:
// GET /v1/events/{id} and GET /v1/events?type=&from=&to=&cursor=&limit=,
// always scoped to the tenant of the caller's API key.
//
// It imports runtime/store and runtime/ingest (for authentication and
// problem details); never generated/ or gen/.
package query
