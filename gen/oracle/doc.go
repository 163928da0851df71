// Package oracle proves the compiled knowledge bases match grule, the
// reference semantics (DESIGN.md §3, "Grule as oracle").
//
// It holds tests only:
//   - TestOracle runs every knowledge base of generated.Registry() over
//     seeded random facts (internal/factgen) through both the compiled
//     executor and grule (runtime/interp) and fails on any difference in the
//     final fact, the Event actions, the fired rules or the error; it also
//     fails when a rule never fires, since the run would not exercise it.
//     ORACLE_N sets the facts per knowledge base (default 10000),
//     ORACLE_SEED the seed, ORACLE_FACT one fact to replay.
//   - The quirk tests pin grule's surprising semantics (float division,
//     int64 wrap, MaxCycle, Complete, Retract, operator precedence,
//     truncation, concatenation, errors in when, memoised calls) on small
//     knowledge bases under testdata/quirks, compiled into the quirkgen
//     package by the directive below.
package oracle

//go:generate go run ../cmd/eventgen -grpc=false -root testdata/quirks -out ../../quirkgen
