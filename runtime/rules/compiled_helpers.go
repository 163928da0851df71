package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Helpers for compiled knowledge bases (generated/*.kb.go). Each reproduces
// a piece of grule v1.20.4's value semantics or error handling without
// reflection; none allocates unless a rule fails or builds a string.

// RecoverWhen is deferred by a compiled condition that can fail at run time
// (index out of range, modulo by zero, ...): grule treats a condition that
// fails as not matching, so a panic turns into ok = false.
func RecoverWhen(ok *bool) {
	if recover() != nil {
		*ok = false
	}
}

// RecoverThen is deferred by a compiled action that can fail at run time:
// grule stops the execution with "error while executing rule X. got ...",
// so a panic becomes a *RuleError. Actions before the failing one have run,
// as in grule.
func RecoverThen(rule string, err *error) {
	if r := recover(); r != nil {
		*err = &RuleError{Rule: rule, Err: thenFailure(rule, r)}
	}
}

// thenFailure words a run-time failure as grule does: reflection errors it
// recovers itself (index out of range), or the panic its rule entry
// recovers.
func thenFailure(rule string, r any) error {
	if e, ok := r.(error); ok {
		var ge *gruleError
		if errors.As(e, &ge) {
			return ge
		}
		if strings.Contains(e.Error(), "index out of range") {
			return errors.New("recovered : reflect: slice index out of range")
		}
	}
	return fmt.Errorf("rule engine execute panic on rule %s ! recovered : %v", rule, r)
}

// gruleError is a failure grule reports as an error value (not a panic).
type gruleError struct{ msg string }

func (e *gruleError) Error() string { return e.msg }

// FormatFloatGRL formats a float64 as grule's string concatenation does
// (fmt's %f: six decimals).
func FormatFloatGRL(f float64) string {
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// FloatDiv divides where the divisor is a constant zero, which Go refuses
// at compile time and grule evaluates to ±Inf or NaN.
func FloatDiv(a, b float64) float64 { return a / b }

// False evaluates its operands (which may fail) and yields false: grule's
// == and != between a string or bool and a value of another type.
func False[A, B any](A, B) bool { return false }

// Max is grule's Max built-in: the largest argument, 0 without arguments.
func Max(vals ...float64) float64 {
	v := 0.0
	for i, x := range vals {
		if i == 0 || x > v {
			v = x
		}
	}
	return v
}

// Min is grule's Min built-in: the smallest argument, 0 without arguments.
func Min(vals ...float64) float64 {
	v := 0.0
	for i, x := range vals {
		if i == 0 || x < v {
			v = x
		}
	}
	return v
}

// StrIn is grule's string In method: s equals one of vals.
func StrIn(s string, vals ...string) bool {
	for _, v := range vals {
		if v == s {
			return true
		}
	}
	return false
}

// MatchString is grule's MatchString with a pattern computed at run time
// (constant patterns are compiled once by the generated code). An invalid
// pattern fails the rule as in grule.
func MatchString(pattern, s string) bool {
	ok, err := regexp.MatchString(pattern, s)
	if err != nil {
		panic(&gruleError{msg: "function StrMatchRegexPattern requires valid regex pattern"})
	}
	return ok
}

// WrongFact is the error of Execute called with a fact of another schema.
func WrongFact(kb, schemaID string, f Fact) error {
	got := "nil"
	if f != nil {
		got = f.SchemaID()
	}
	return fmt.Errorf("rules: knowledge base %s binds %s, got a fact of %s", kb, schemaID, got)
}
