// Package tenant holds the tenants of an engine: their ids and hashed API
// keys. Keys are never stored in clear; lookups compare SHA-256 digests in
// constant time. It imports only the standard library.
package tenant
