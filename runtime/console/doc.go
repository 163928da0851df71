// Package console is the web console `serve` offers at /console: an
// embedded single-page front end (plain HTML, CSS and ES modules, no build
// step, nothing fetched from elsewhere) over the tenant's own HTTP APIs,
// the login that gives a browser a session for them, and the few endpoints
// the console needs that belong to no other API: the live tail of a
// tenant's processed events (Server-Sent Events), its rule firings per
// knowledge base and its NATS connection details.
//
// A session cookie stands in for the API key: Wrap turns it back into the
// Authorization header the APIs read, so every page is scoped by the same
// server-side authentication as the APIs themselves (see session.go).
//
// It imports runtime/problem, runtime/tenant, runtime/bus and
// runtime/tenant/tenantnats, and the NATS client; never runtime/app,
// runtime/engine, generated/ or gen/: the app hands it what it shows
// through Config.
package console
