package rules

import (
	"strconv"
	"strings"
)

// Violation is one way an event's data breaks its schema.
type Violation struct {
	// Path is the JSON path of the offending value, e.g. "$.items[2].sku".
	Path string
	// Message says why, e.g. `must be >= 0, got -5`.
	Message string
}

func (v Violation) String() string { return v.Path + ": " + v.Message }

// Violations accumulates violations while decoding and validating. The zero
// value is ready to use; it allocates only when something is wrong.
type Violations struct {
	List []Violation
}

// Add records one violation.
func (vs *Violations) Add(path, msg string) {
	vs.List = append(vs.List, Violation{Path: path, Message: msg})
}

// Len reports how many violations were recorded.
func (vs *Violations) Len() int { return len(vs.List) }

// Reset forgets the recorded violations, keeping capacity.
func (vs *Violations) Reset() { vs.List = vs.List[:0] }

// Err returns nil when nothing was recorded, else a *ValidationError holding a
// copy of the violations.
func (vs *Violations) Err() error {
	if len(vs.List) == 0 {
		return nil
	}
	return &ValidationError{Violations: append([]Violation(nil), vs.List...)}
}

// ValidationError lists every violation found in an event's data.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid data: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// SyntaxError is malformed JSON, with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Path helpers used by generated validators. They allocate, so generated code
// calls them only once a violation has been found.

// FieldPath returns parent.name, or "$.name" at the root.
func FieldPath(parent, name string) string {
	if parent == "" {
		parent = "$"
	}
	return parent + "." + name
}

// IndexPath returns parent[i].
func IndexPath(parent string, i int) string {
	if parent == "" {
		parent = "$"
	}
	return parent + "[" + strconv.Itoa(i) + "]"
}
