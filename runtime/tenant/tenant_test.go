package tenant

import (
	"errors"
	"strings"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	r := NewRegistry()
	keyA, keyB := NewKey(), NewKey()
	if err := r.Add(Tenant{ID: "acme", KeyHashes: []string{HashKey(keyA)}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(Tenant{ID: "globex", KeyHashes: []string{HashKey(keyB)}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, want string
		err       error
	}{
		{keyA, "acme", nil},
		{keyB, "globex", nil},
		{"", "", ErrUnknownKey},
		{keyA + "x", "", ErrUnknownKey},
	}
	for _, tt := range tests {
		got, err := r.Authenticate(tt.key)
		if !errors.Is(err, tt.err) || got.ID != tt.want {
			t.Errorf("Authenticate(%q) = %q, %v; want %q, %v", tt.key, got.ID, err, tt.want, tt.err)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"acme", "a", "t-1_x", strings.Repeat("a", 63)} {
		if err := ValidID(id); err != nil {
			t.Errorf("ValidID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "Acme", "-a", "a.b", "a*", strings.Repeat("a", 64), "a b"} {
		if ValidID(id) == nil {
			t.Errorf("ValidID(%q) = nil, want error", id)
		}
	}
	if !strings.HasPrefix(NewKey(), "er_") {
		t.Error("NewKey lacks its prefix")
	}
}

func TestCheckNATSLimits(t *testing.T) {
	tests := []struct {
		name string
		t    Tenant
		want string // "" = valid
	}{
		{"none", Tenant{ID: "acme"}, ""},
		{"all", Tenant{ID: "acme", MaxBytes: 1 << 20, NATS: NATSLimits{MaxConnections: 2, MaxStorage: 1 << 20, MaxStreams: 3, MaxConsumers: 4}}, ""},
		{"negative", Tenant{ID: "acme", NATS: NATSLimits{MaxStreams: -1}}, "nats limits must not be negative"},
		{"storage without max_bytes", Tenant{ID: "acme", NATS: NATSLimits{MaxStorage: 1 << 20}}, "nats.max_storage needs max_bytes"},
	}
	for _, tc := range tests {
		err := tc.t.Check()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
