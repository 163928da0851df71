package rules

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestFormatFloatGRLMatchesGrule(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 2.5, -1.25, 1e300, 1e-7, 123456789.987654321, math.Inf(1), math.Inf(-1), math.NaN()} {
		if got, want := FormatFloatGRL(f), fmt.Sprintf("%f", f); got != want {
			t.Errorf("FormatFloatGRL(%v) = %q, grule's %%f gives %q", f, got, want)
		}
	}
}

func TestMaxMin(t *testing.T) {
	tests := []struct {
		vals     []float64
		max, min float64
	}{
		{nil, 0, 0},
		{[]float64{-3}, -3, -3},
		{[]float64{1, 5, -2}, 5, -2},
	}
	for _, tc := range tests {
		if got := Max(tc.vals...); got != tc.max {
			t.Errorf("Max(%v) = %v, want %v", tc.vals, got, tc.max)
		}
		if got := Min(tc.vals...); got != tc.min {
			t.Errorf("Min(%v) = %v, want %v", tc.vals, got, tc.min)
		}
	}
}

func TestStrIn(t *testing.T) {
	if !StrIn("b", "a", "b") || StrIn("c", "a", "b") || StrIn("a") {
		t.Error("StrIn")
	}
}

func whenThatPanics(i int) (ok bool) {
	defer RecoverWhen(&ok)
	s := []int{1}
	return s[i] == 1
}

func thenThatPanics(f func()) (err error) {
	defer RecoverThen("R", &err)
	f()
	return nil
}

func TestRecover(t *testing.T) {
	if !whenThatPanics(0) || whenThatPanics(3) {
		t.Error("RecoverWhen: a failing condition must not match")
	}
	tests := []struct {
		f    func()
		want string
	}{
		{func() { _ = []int{}[len("x")] }, "error while executing rule R. got recovered : reflect: slice index out of range"},
		{func() { z := 0; _ = 1 % z }, "error while executing rule R. got rule engine execute panic on rule R ! recovered : runtime error: integer divide by zero"},
		{func() { MatchString("(", "x") }, "error while executing rule R. got function StrMatchRegexPattern requires valid regex pattern"},
	}
	for _, tc := range tests {
		err := thenThatPanics(tc.f)
		var re *RuleError
		if !errors.As(err, &re) || re.Rule != "R" || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
	if err := thenThatPanics(func() {}); err != nil {
		t.Error(err)
	}
}

func TestMatchStringAndFalse(t *testing.T) {
	if !MatchString("^a", "abc") || MatchString("^b", "abc") {
		t.Error("MatchString")
	}
	if False("a", 1) {
		t.Error("False")
	}
	if FloatDiv(1, 0) != math.Inf(1) {
		t.Error("FloatDiv")
	}
	err := WrongFact("kb", "a/v1", nil)
	if err == nil || !strings.Contains(err.Error(), "a/v1") {
		t.Error(err)
	}
}
