package ir

// Matcher is a pattern anchored at both ends (^...$) as a sequence of steps
// that a validator matches greedily, byte by byte, with no backtracking,
// consuming the whole string. The loader builds one only when every step's
// count is forced by what may follow it, so the greedy match is the only
// one (see gen/schema/pattern.go).
type Matcher struct {
	Steps []MatchStep
}

// MatchStep matches Literal once, or Min to Max (-1: unbounded) bytes that
// fall in Ranges. Every byte involved is ASCII, so a byte of a multi-byte
// or invalid UTF-8 sequence never matches.
type MatchStep struct {
	Literal  string
	Ranges   []ByteRange // sorted, disjoint
	Min, Max int
	// Src is the step as regexp syntax, for a comment in generated code.
	Src string
}

// ByteRange is an inclusive range of bytes.
type ByteRange struct{ Lo, Hi byte }
