// Package rulediff replays CloudEvents through two versions of the
// knowledge bases, a base revision's and the working tree's, and reports how
// the outcome changes: per knowledge base, how many events end with other
// data, fired rules or Event actions, which rules fire differently, and a
// sample of field-level diffs. It backs `eventrunner rules diff` and the
// behaviour section of `eventrunner check --base`.
//
// Runner is the one place that runs a knowledge base over one event the way
// `eventrunner rules eval` does (the event must be of a type and schema
// version the knowledge base binds; its data is decoded into a reused fact),
// so eval and diff cannot drift apart.
//
// Each knowledge base is replayed on its own over the event's data, as
// `rules eval --kb` runs it; the knowledge bases themselves may be compiled
// or interpreted (runtime/interp): both implement rules.KnowledgeBase.
//
// Imports: runtime/rules, runtime/cloudevents, runtime/dataschema and the
// standard library. Never generated/ or gen/.
package rulediff
