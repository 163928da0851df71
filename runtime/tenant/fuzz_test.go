package tenant

import (
	"testing"
)

// FuzzParse: any input either fails or yields tenants that pass Check and
// survive a write/read round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte("tenants:\n  - id: acme\n    key_hashes: [" + HashKey("k") + "]\n    rate_per_sec: 5\n    retention: 24h\n"))
	f.Add([]byte(""))
	f.Add([]byte("tenants: [{id: a}, {id: b, burst: 3, signing_keys: [AB]}]"))
	f.Add([]byte("tenants:\n  - id: a\n    retention: -1h\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := Parse(b)
		if err != nil {
			return
		}
		for _, tn := range ts {
			if err := tn.Check(); err != nil {
				t.Fatalf("Parse accepted an invalid tenant: %v", err)
			}
		}
		path := t.TempDir() + "/t.yaml"
		if err := WriteFile(path, ts); err != nil {
			t.Fatal(err)
		}
		back, err := ReadFile(path)
		if err != nil || len(back) != len(ts) {
			t.Fatalf("round trip: %d tenants, %v", len(back), err)
		}
	})
}
