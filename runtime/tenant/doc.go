// Package tenant holds the tenants of an engine: their ids, hashed API keys
// and limits, the YAML file they are kept in, the per-tenant ingest rate
// limiter, and the admin HTTP API that manages them. Keys are never stored
// in clear; lookups compare SHA-256 digests in constant time.
//
// It imports the standard library, the YAML package and runtime/problem
// (the admin API's problem details) only; the NATS side
// of tenancy (accounts, credentials, tenant streams) is in
// runtime/tenant/tenantnats.
package tenant
