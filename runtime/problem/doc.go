// Package problem is the one RFC 9457 problem+json type of every HTTP API
// (ingest, query, analytics, schemas, the admin and WASM APIs, and the
// server's own 404/405/431): a status, a title, a detail and the field at
// fault.
//
// Imports the standard library only.
package problem
