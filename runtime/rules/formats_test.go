package rules

import (
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		fn   func(string) bool
		name string
		ok   []string
		bad  []string
	}{
		{IsDateTime, "date-time",
			[]string{"2026-03-14T09:26:53Z", "2026-03-14t09:26:53.589z", "2024-02-29T23:59:60+14:00", "1999-12-31T00:00:00-08:30", "2026-03-14T09:26:53.123456789+01:00"},
			[]string{"", "2026-03-14", "2026-03-14 09:26:53Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
				"2026-03-14T24:00:00Z", "2026-03-14T09:26:53", "2026-03-14T09:26:53.Z", "2026-03-14T09:26:53+0100", "2026-03-14T09:26:53+24:00", "2026-03-14T09:26:53Zx"}},
		{IsUUID, "uuid",
			[]string{"7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13", "7F1C9A52-3B8E-4D21-9A6F-0C2B5E8D4F13", "00000000-0000-0000-0000-000000000000"},
			[]string{"", "7f1c9a523b8e4d219a6f0c2b5e8d4f13", "{7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13}", "7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f1g", "7f1c9a52_3b8e-4d21-9a6f-0c2b5e8d4f13"}},
		{IsEmail, "email",
			[]string{"a@b.c", "maria.lopez+shop@example.com", "x_y!#$%&'*+/=?^`{|}~@mail-1.example.org", "user@localhost", "u@[192.168.0.1]"},
			[]string{"", "a", "@b.c", "a@", "a..b@c.d", ".a@c.d", "a.@c.d", "a@-c.d", "a@c-.d", "a@c..d", "a b@c.d", "a@b@c.d", "a@[300.1.1.1]", "a@[1.2.3]", strings.Repeat("a", 65) + "@b.c"}},
		{IsURI, "uri",
			[]string{"https://pay.example.com/r/8f3k2j1h?lang=es&x=%20#top", "urn:isbn:0451450523", "mailto:a@b.c", "h:", "x+y.z-w://[::1]:80/"},
			[]string{"", "//example.com/x", "/relative", "1http://x", "http://exa mple.com", "http://x/%zz", "http://x/%2", "no-colon", "http://x/\u00e9"}},
	}
	for _, tt := range tests {
		for _, s := range tt.ok {
			if !tt.fn(s) {
				t.Errorf("%s: %q should be valid", tt.name, s)
			}
		}
		for _, s := range tt.bad {
			if tt.fn(s) {
				t.Errorf("%s: %q should be invalid", tt.name, s)
			}
		}
	}
}

func TestQuoteValue(t *testing.T) {
	if got := QuoteValue("JPY"); got != `"JPY"` {
		t.Errorf("got %s", got)
	}
	long := strings.Repeat("é", 100)
	if got := QuoteValue(long); got != `"`+strings.Repeat("é", 64)+`"...` {
		t.Errorf("got %s", got)
	}
}

// TestFormatsDoNotAllocate: the validators call these on every event.
func TestFormatsDoNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_ = IsDateTime("2026-03-14T09:26:53.589Z") && IsUUID("7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13") &&
			IsEmail("maria.lopez@example.com") && IsURI("https://example.com/x?y=1")
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}
