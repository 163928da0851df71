// Package natscluster starts a real nats-server cluster for tests: N
// nats-server processes on loopback ports, routed to each other, with
// JetStream, each with its own store directory and log under the test's
// temporary directory. Nodes are separate OS processes, so a test can
// SIGKILL one (Kill) as a machine failure would, stop it gracefully (Stop)
// and bring it back with the same ports and store (Restart).
//
// The server binary is built from the nats-server module this module
// already requires (go build github.com/nats-io/nats-server/v2), once per
// module version and Go version, into the user's cache directory, so that
// every test process reuses one build and a fresh machine needs nothing but
// Go (see Binary). EVENTRUNNER_NATS_SERVER names a binary to use instead.
//
// Starting a cluster takes about a second; a test that kills a stream's
// leader waits for an election (4–9 s, nats-server's Raft timeouts). Start
// skips the test under -short. See docs/nats-cluster-tests.md.
//
// Imports nats.go (its jetstream package) and the standard library; only
// _test files import it.
package natscluster
