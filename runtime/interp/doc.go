// Package interp runs knowledge bases through grule, the reference semantics
// of eventrunner's GRL.
//
// A *KB implements rules.KnowledgeBase over the same generated fact structs
// as the compiled knowledge bases, so the two are interchangeable: it backs
// `eventrunner rules eval --interpreted`, the differential test that proves
// the compiled executors match grule (gen/oracle), and hot-loaded rules read
// from a rules directory at run time (LoadDir).
//
// It is never on the fast path: grule evaluates by reflection and allocates
// on every cycle. A KB keeps one grule KnowledgeLibrary and a free list of
// knowledge-base instances, because building an instance costs milliseconds
// and an instance must not be shared by goroutines.
//
// LoadDir reads kb.yaml with runtime/kbyaml, the generator's parser, so a
// rules directory `serve --rules-dir` accepts is one `go generate` accepts.
//
// Imports: runtime/rules, runtime/kbyaml, grule and the standard library.
// Never generated/ or gen/.
package interp
