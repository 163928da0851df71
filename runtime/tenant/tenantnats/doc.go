// Package tenantnats is the NATS side of tenancy: the embedded server's
// authenticator (the engine's own user with full rights, and one user per
// tenant — user = tenant id, password = one of its API keys — whose
// permissions reach only that tenant's subjects, stream and inbox), and the
// per-tenant stream ER_T_<tenant> that binds the tenant's processed events
// (er.t.<tenant>.>, published there by the engine) and its WASM outputs
// (er.out.<tenant>.>), sources its rejected events (er.dlq.<tenant>) from
// ER_DLQ, and carries the tenant's retention and size limits.
//
// Why a stream per tenant: JetStream permissions are per subject, and a
// consumer name is a free token, so on a shared stream one tenant could
// fetch from another's consumer by name. A stream of its own lets a
// tenant's permissions name the stream in every JetStream API subject.
//
// Imports nats-server, nats.go, runtime/bus and runtime/tenant.
package tenantnats
