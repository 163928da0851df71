package rules

import (
	"strings"
	"testing"
)

// panicky is a knowledge base whose rules panic.
type panicky struct{ KnowledgeBase }

func (panicky) Execute(*Exec, Fact) error { panic("index out of range") }

func TestRunTurnsAPanicIntoAnError(t *testing.T) {
	var x Exec
	err := Run(panicky{}, &x, nil)
	if err == nil || !strings.Contains(err.Error(), "panic: index out of range") {
		t.Fatalf("Run of a panicking knowledge base: %v, want the panic as an error", err)
	}
}
