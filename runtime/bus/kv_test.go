package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// TestProgress: Wait returns once the revision (or a later one) is set,
// with ErrProgressClosed after Close, and with ctx's error otherwise.
func TestProgress(t *testing.T) {
	var p bus.Progress
	done := make(chan error)
	go func() { done <- p.Wait(context.Background(), 3) }()
	p.Set(2)
	select {
	case err := <-done:
		t.Fatalf("Wait(3) returned at revision 2: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	p.Set(5)
	if err := <-done; err != nil {
		t.Fatalf("Wait(3) after Set(5): %v", err)
	}
	if err := p.Wait(context.Background(), 4); err != nil {
		t.Fatalf("Wait of an applied revision: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx, 9); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
	go func() { done <- p.Wait(context.Background(), 9) }()
	p.Close()
	if err := <-done; !errors.Is(err, bus.ErrProgressClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
}
