// Package rules is the small API shared by the generated code and the engine
// runtime: the execution context of a knowledge base, the built-in Event fact,
// schema violations, and the interfaces of facts, knowledge bases and the
// registry that `go generate` fills.
//
// It is the only project package that generated/ imports. It imports nothing
// but the standard library and runtime/jsonscan (the JSON scanner under its
// Lexer, shared with runtime/cloudevents, itself standard-library only), so
// the rest of runtime/ builds and tests before the generator has run.
package rules
