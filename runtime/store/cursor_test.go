package store

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	q := Query{Tenant: "acme", Type: "t", From: time.Unix(10, 0), To: time.Unix(20, 5)}
	for _, p := range []Position{
		{Time: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC), ID: "a", Source: "/s"},
		{Time: time.Time{}, ID: "\x00\xff", Source: "\x00"},
		{Time: time.Unix(-5, 7).UTC(), ID: "id with spaces/and?query", Source: ""},
		{Time: time.Unix(1, 0).UTC(), ID: strings.Repeat("i", 300), Source: strings.Repeat("s", 300)},
	} {
		q.Cursor = EncodeCursor(q, p)
		got, err := DecodeCursor(q)
		if err != nil || !got.Time.Equal(p.Time) || got.ID != p.ID || got.Source != p.Source {
			t.Errorf("round trip of %+v: %+v, %v", p, got, err)
		}
	}
	// The same bounds written in another zone are the same query.
	q2 := q
	q2.From, q2.To = q.From.In(time.FixedZone("X", 3600)), q.To.In(time.FixedZone("Y", -3600))
	if _, err := DecodeCursor(q2); err != nil {
		t.Errorf("cursor refused for equal bounds in another zone: %v", err)
	}
	// A version 1 cursor (before sources) is refused, saying why.
	b, _ := base64.RawURLEncoding.DecodeString(EncodeCursor(q, Position{ID: "a", Source: "/s"}))
	b[0] = 1
	q.Cursor = base64.RawURLEncoding.EncodeToString(b)
	if _, err := DecodeCursor(q); !errors.Is(err, ErrInvalidCursor) || !strings.Contains(err.Error(), "earlier version") {
		t.Errorf("version 1 cursor: %v, want ErrInvalidCursor naming the earlier version", err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	q := Query{Tenant: "acme"}
	f.Add(EncodeCursor(q, Position{Time: time.Unix(1, 2), ID: "x", Source: "/s"}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		q.Cursor = s
		p, err := DecodeCursor(q)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("DecodeCursor(%q) = %v, want ErrInvalidCursor", s, err)
			}
			return
		}
		q.Cursor = EncodeCursor(q, p)
		if p2, err := DecodeCursor(q); err != nil || !p2.Time.Equal(p.Time) || p2.ID != p.ID || p2.Source != p.Source {
			t.Fatalf("re-encoded cursor %q: %+v, %v", s, p2, err)
		}
	})
}
