// Package tenantnats is the NATS side of tenancy: every tenant is a NATS
// account of its own, so that NATS itself keeps tenants apart.
//
// eventrunner is the NATS operator (keys.go: one operator seed, every other
// key derived from it). It issues the JWTs of the system account, the auth
// callout's account, the engine's account and each tenant's (claims.go),
// pushes them to the servers' resolvers (accounts.go), configures the
// embedded server or prints the configuration a cluster includes
// (server.go), and answers the auth callout, which turns a login with
// tenant id and API key into a user of the tenant's account (callout.go).
// The engine reaches each tenant's stream ER_T_<tenant> through the
// imports of its account (subjects.go, stream.go; Streams also covers an
// external NATS where eventrunner is not the operator and every stream
// lives in its one account), and forwards dead letters into it
// (forward.go). migrate.go moves the streams of a data directory from
// before accounts.
//
// Why accounts: inside one account, what the server publishes for a
// client — a push consumer's deliveries to its deliver subject, answers to
// its reply subject — is not held to that client's permissions, so a
// tenant could reach any subject the engine listens on.
//
// Imports nats.go, jwt, nkeys, runtime/bus and runtime/tenant.
package tenantnats
