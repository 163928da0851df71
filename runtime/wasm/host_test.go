package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/wasm/wasmtest"
)

func ce(id, data string) []byte {
	return []byte(`{"specversion":"1.0","id":"` + id + `","source":"/t","type":"com.acme.x","tenantid":"acme","data":` + data + `}`)
}

// testHost shares one compilation cache across the tests: the Go guest is
// compiled once.
var testHost = sync.OnceValue(func() *Host {
	h, err := NewHost("", nil)
	if err != nil {
		panic(err)
	}
	return h
})

func loadGo(t testing.TB, lim Limits) *Module {
	t.Helper()
	m, err := testHost().Load(context.Background(), wasmtest.GoGuest(t), []string{CapEmit, CapLog}, lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func TestGoGuestTransforms(t *testing.T) {
	m := loadGo(t, Limits{})
	for i := 0; i < 3; i++ { // the same instance, reused
		outs, err := m.Handle(context.Background(), ce("e1", `{"b":1,"a":2}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || string(outs[0]) != `{"source_id":"e1","type":"com.acme.x","tenant":"acme","keys":"a,b","guest":"go"}` {
			t.Fatalf("outs = %q", outs)
		}
	}
}

// TestScannerGuestsTransform: the Rust guest (rustc alone) and the fast Go
// guest, each with its own JSON scanner instead of a JSON library, emit
// exactly what the Go guest and the native transform do, on the same
// reused instance, for small and large events, and fail malformed input.
func TestScannerGuestsTransform(t *testing.T) {
	for _, g := range []struct {
		name  string
		guest func(testing.TB) []byte
	}{{"rust", wasmtest.RustGuest}, {"go-fast", wasmtest.GoFastGuest}} {
		t.Run(g.name, func(t *testing.T) { checkScannerGuest(t, g.guest(t), g.name) })
	}
}

func checkScannerGuest(t *testing.T, bin []byte, name string) {
	m, err := testHost().Load(context.Background(), bin, []string{CapEmit}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	for i := 0; i < 100; i++ {
		outs, err := m.Handle(context.Background(), ce("e1", `{"b":1,"a":{"x":[1,"]",{"y":null}]},"c\"q":"}"}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || string(outs[0]) != `{"source_id":"e1","type":"com.acme.x","tenant":"acme","keys":"a,b,c\"q","guest":"`+name+`"}` {
			t.Fatalf("outs = %q", outs)
		}
	}
	got, err := m.Handle(context.Background(), benchEvent)
	if err != nil {
		t.Fatal(err)
	}
	native, _ := nativeSummary(benchEvent)
	if want := strings.Replace(string(native), `"guest":"go"`, `"guest":"`+name+`"`, 1); string(got[0]) != want {
		t.Errorf("%s %s\nnative %s", name, got[0], native)
	}
	big := ce("rust-big", `{"pad":"`+strings.Repeat("p", 100000)+`"}`)
	if outs, err := m.Handle(context.Background(), big); err != nil || !strings.Contains(string(outs[0]), `"keys":"pad"`) {
		t.Fatalf("large event: %q %v", outs, err)
	}
	var ge *GuestError
	if _, err := m.Handle(context.Background(), []byte(`{"id":`)); !errors.As(err, &ge) || ge.Kind != "result" {
		t.Errorf("malformed input: %v, want the guest's failure", err)
	}
}

func TestASGuestTransforms(t *testing.T) {
	bin := wasmtest.ASGuest(t)
	m, err := testHost().Load(context.Background(), bin, []string{CapEmit}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	ev := ce("as-1", `{"x":1}`)
	for i := 0; i < 1000; i++ { // no growth per event: the stub heap is never used
		outs, err := m.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(outs[0], &got); err != nil || got["source_id"] != "as-1" || got["type"] != "com.acme.x" || got["guest"] != "assemblyscript" || got["bytes"] != float64(len(ev)) {
			t.Fatalf("outs = %q (%v)", outs, err)
		}
	}
	big := ce("as-big", `{"pad":"`+strings.Repeat("p", 100000)+`"}`)
	if outs, err := m.Handle(context.Background(), big); err != nil || !strings.Contains(string(outs[0]), `"as-big"`) {
		t.Fatalf("large event: %q %v", outs, err)
	}
}

// TestHostileGuest: each misbehaviour ends in a clear error within the
// deadline, the instance is replaced, and the next event is fine.
func TestHostileGuest(t *testing.T) {
	m := loadGo(t, Limits{Timeout: 3 * time.Second, MemoryMB: 16, MaxEmitBytes: 1 << 20})
	tests := []struct {
		mode, kind, reason string
	}{
		{"loop", "timeout", "deadline exceeded"},
		{"bomb", "trap", "fatal error: out of memory"},
		{"trap", "trap", "panic: guest trapped on purpose"},
		{"bigemit", "limit", "emit of 2097152 bytes exceeds the limit of 1048576"},
		{"fail", "result", "handle returned 7"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			start := time.Now()
			outs, err := m.Handle(context.Background(), ce("h", `{"mode":"`+tt.mode+`"}`))
			var ge *GuestError
			if !errors.As(err, &ge) || ge.Kind != tt.kind || !strings.Contains(ge.Reason, tt.reason) {
				t.Fatalf("err = %v (%T), want kind %s with %q", err, err, tt.kind, tt.reason)
			}
			if outs != nil {
				t.Errorf("a failed call emitted %q", outs)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
			if outs, err := m.Handle(context.Background(), ce("ok", `{"a":1}`)); err != nil || len(outs) != 1 {
				t.Fatalf("next event after %s: %q %v", tt.mode, outs, err)
			}
		})
	}
}

// TestHostileDoesNotStallOthers: a module stuck in a loop does not hold up
// another module's events.
func TestHostileDoesNotStallOthers(t *testing.T) {
	evil := loadGo(t, Limits{Timeout: time.Minute})
	good := loadGo(t, Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := evil.Handle(ctx, ce("h", `{"mode":"loop"}`))
		done <- err
	}()
	for i := 0; i < 50; i++ {
		if _, err := good.Handle(context.Background(), ce("ok", `{"a":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the looping module returned before the other's 50 events were done: %v", err)
	default:
	}
	cancel() // stopping a consumer interrupts its guest at once
	if err := <-done; err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("cancelled loop: %v", err)
	}
}

func TestABIChecks(t *testing.T) {
	h := testHost()
	ctx := context.Background()
	bin := wasmtest.GoGuest(t)
	if _, err := h.Load(ctx, bin, []string{CapLog}, Limits{}); err == nil || !strings.Contains(err.Error(), `imports env.emit without the "emit" capability`) {
		t.Errorf("missing capability: %v", err)
	}
	if _, err := h.Load(ctx, []byte("\x00asm\x01\x00\x00\x00"), nil, Limits{}); err == nil || !strings.Contains(err.Error(), "does not export function alloc") {
		t.Errorf("empty module: %v", err)
	}
	if _, err := h.Load(ctx, []byte("not wasm"), nil, Limits{}); err == nil || !strings.Contains(err.Error(), "not a valid WebAssembly module") {
		t.Errorf("garbage: %v", err)
	}
	if _, err := h.Load(ctx, bin, []string{CapEmit, CapLog}, Limits{MemoryMB: 4096}); err == nil {
		t.Error("memory above the host's maximum accepted")
	}
}
