// Package wasm runs tenants' WebAssembly consumers in a wazero sandbox.
//
// A tenant signs a module with its nkeys account seed: the claims (Claims)
// name the tenant, the consumer, the module's SHA-256 and the capabilities
// (host functions) it may import. On deploy the host verifies the
// signature against the tenant's registered signing keys, the claims
// against the uploading tenant and the module, and the module's imports
// against the capabilities; then it runs the module against the tenant's
// stream (a durable JetStream consumer on ER_T_<tenant>) with a pool of
// reused instances and a shared compilation cache.
//
// ABI: the module exports memory, alloc(len i32) i32 and
// handle(ptr i32, len i32) i32 (0 = success); the host offers env.emit(ptr,
// len) i32, env.log(ptr, len) and, for AssemblyScript, env.abort. WASI
// preview 1 is provided with no filesystem, no environment, no network and
// no arguments. Each instance has a memory cap, each event a deadline
// (the instance is closed when it passes); a trap, a timeout or a non-zero
// result naks the event with a backoff and, after MaxAttempts, dead-letters
// it to er.dlq.<tenant> with the reason. Emitted events are published to
// er.out.<tenant>.<consumer> only when handle succeeds.
//
// Imports wazero, nkeys, nats.go, prometheus, runtime/bus, runtime/tenant
// and runtime/tenant/tenantnats (the tenants' streams).
package wasm
