package wasm

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/wasm/wasmtest"
)

// nativeSummary is testdata/goguest's transform, in the host: the baseline
// the WASM rows are measured against.
func nativeSummary(in []byte) ([]byte, error) {
	var ev struct {
		ID       string          `json:"id"`
		Type     string          `json:"type"`
		TenantID string          `json:"tenantid"`
		Data     json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(in, &ev); err != nil {
		return nil, err
	}
	var data map[string]any
	_ = json.Unmarshal(ev.Data, &data)
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return json.Marshal(struct {
		SourceID string `json:"source_id"`
		Type     string `json:"type"`
		Tenant   string `json:"tenant"`
		Keys     string `json:"keys"`
		Guest    string `json:"guest"`
	}{ev.ID, ev.Type, ev.TenantID, strings.Join(keys, ","), "go"})
}

var benchEvent = ce("bench-1", `{"deviceId":"dev-0001","sensor":"temperature","value":21.5,"unit":"C","battery":80,"recordedAt":"2026-11-28T09:00:00Z"}`)

func TestNativeMatchesGuest(t *testing.T) {
	m := loadGo(t, Limits{})
	outs, err := m.Handle(context.Background(), benchEvent)
	if err != nil {
		t.Fatal(err)
	}
	native, _ := nativeSummary(benchEvent)
	if string(outs[0]) != string(native) {
		t.Fatalf("guest %s\nnative %s", outs[0], native)
	}
}

// BenchmarkTransform: events/s of the same transform in native Go, in the
// Go guest on one reused instance, and on a pool of one instance per core
// (run in parallel); and the AssemblyScript guest's (simpler) transform.
//
//	go test -run '^$' -bench Transform ./runtime/wasm/
func BenchmarkTransform(b *testing.B) {
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("native-go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := nativeSummary(benchEvent); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("wasm-go/1-instance", func(b *testing.B) {
		m := loadGo(b, Limits{Pool: 1})
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := m.Handle(ctx, benchEvent); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	pool := runtime.GOMAXPROCS(0)
	b.Run("wasm-go/pool", func(b *testing.B) {
		m := loadGo(b, Limits{Pool: pool})
		ctx := context.Background()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Handle(ctx, benchEvent); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(pool), "instances")
		report(b)
	})
	for _, g := range []struct {
		name  string
		guest func(testing.TB) []byte
	}{{"wasm-go-fast/1-instance", wasmtest.GoFastGuest}, {"wasm-rust/1-instance", wasmtest.RustGuest}, {"wasm-as/1-instance", wasmtest.ASGuest}} {
		b.Run(g.name, func(b *testing.B) {
			m, err := testHost().Load(context.Background(), g.guest(b), []string{CapEmit}, Limits{Pool: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(context.Background())
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Handle(ctx, benchEvent); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}

}
