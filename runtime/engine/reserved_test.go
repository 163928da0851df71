package engine_test

import (
	"slices"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/engine"
)

// TestEngineExtensionsAreReserved: every extension the engine writes on a
// processed event is one ingest refuses from producers, and the other way
// round, so that a new one cannot be forged unnoticed.
func TestEngineExtensionsAreReserved(t *testing.T) {
	written := []string{engine.AttrKB, engine.AttrBundle, engine.AttrFired, engine.AttrTags, engine.AttrRoute, engine.AttrDropped}
	for _, name := range written {
		if !cloudevents.IsReserved(name) {
			t.Errorf("the engine writes %q, which producers may send", name)
		}
	}
	for _, name := range cloudevents.ReservedExtensions {
		if !slices.Contains(written, name) || !cloudevents.IsReserved(name) {
			t.Errorf("%q is reserved but not written by the engine (or IsReserved disagrees)", name)
		}
	}
}
