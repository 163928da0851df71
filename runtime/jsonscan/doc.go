// Package jsonscan is eventrunner's one JSON scanner: the byte-level
// primitives that the structured CloudEvents codec (runtime/cloudevents) and
// the generated fact decoders' lexer (runtime/rules) are built on. It skips
// whitespace, scans strings (validating them, reporting whether they need
// unescaping, and unescaping them strictly), numbers and literals, and skips
// whole values within encoding/json's nesting limit.
//
// The functions work on a document held in memory and an offset into it,
// return the offset where they stopped and a Code, and never allocate or
// use an interface on the per-byte path. They accept exactly what
// encoding/json accepts. A syntax error is reported as the offset of the
// offending byte (the length of the input when it ends too early) and a
// Code saying what was expected there; each caller words it (Code.Message
// gives encoding/json's words), so that both keep the messages their users
// see.
//
// It imports only the standard library.
package jsonscan
