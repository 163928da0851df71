package store

import (
	"bytes"
	"cmp"
	"strings"
	"testing"
	"time"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
	}{
		{"", []byte{0x00, 0x01}},
		{"a", []byte{'a', 0x00, 0x01}},
		{"\x00", []byte{0x00, 0xFF, 0x00, 0x01}},
		{"a\x00b", []byte{'a', 0x00, 0xFF, 'b', 0x00, 0x01}},
		{"\x00\x00", []byte{0x00, 0xFF, 0x00, 0xFF, 0x00, 0x01}},
		{"\x01\xff", []byte{0x01, 0xFF, 0x00, 0x01}},
	}
	for _, tc := range tests {
		got := appendString([]byte("prefix"), tc.in)
		if !bytes.Equal(got, append([]byte("prefix"), tc.want...)) {
			t.Errorf("appendString(%q) = %x, want prefix+%x", tc.in, got, tc.want)
		}
		s, rest, err := decodeString(append(got[len("prefix"):], "tail"...))
		if err != nil || s != tc.in || string(rest) != "tail" {
			t.Errorf("decodeString(appendString(%q)) = %q, %q, %v", tc.in, s, rest, err)
		}
	}
	for _, bad := range [][]byte{nil, {'a'}, {0x00}, {'a', 0x00}, {0x00, 0x02}, {0x00, 0xFF}} {
		if _, _, err := decodeString(bad); err == nil {
			t.Errorf("decodeString(%x) accepted an unterminated or bad escape", bad)
		}
	}
}

// checkStringOrder is the property the List order and tenant isolation rest
// on: encodings compare like the strings, and none is a prefix of another.
func checkStringOrder(t *testing.T, a, b string) {
	ea, eb := appendString(nil, a), appendString(nil, b)
	if got, want := bytes.Compare(ea, eb), strings.Compare(a, b); got != want {
		t.Fatalf("order of %q, %q: encodings compare %d, strings %d", a, b, got, want)
	}
	if a != b && (bytes.HasPrefix(ea, eb) || bytes.HasPrefix(eb, ea)) {
		t.Fatalf("encoding of %q or %q is a prefix of the other's", a, b)
	}
}

func TestStringOrder(t *testing.T) {
	vals := []string{"", "\x00", "\x00\x00", "\x00\x01", "\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "a\xff", "b", "\xff", "\xff\x00"}
	for _, a := range vals {
		for _, b := range vals {
			checkStringOrder(t, a, b)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range [][2]string{{"", "a"}, {"a\x00", "a"}, {"\x00\xff", "\x00\x01"}, {"acme", "acme2"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		s, rest, err := decodeString(appendString(nil, a))
		if err != nil || s != a || len(rest) != 0 {
			t.Fatalf("round trip of %q: %q, %x, %v", a, s, rest, err)
		}
		checkStringOrder(t, a, b)
	})
}

func TestTimeDesc(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Unix(-1, 0),
		time.Unix(-1, 999999999),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
		time.Date(2026, 3, 1, 12, 0, 0, 123456790, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	for i, a := range times {
		ea := appendTimeDesc(nil, a)
		got, rest, err := decodeTimeDesc(ea)
		if err != nil || !got.Equal(a) || got.Location() != time.UTC || len(rest) != 0 || len(ea) != timeDescLen {
			t.Errorf("round trip of %v: %v, %x, %v", a, got, rest, err)
		}
		for j, b := range times {
			// Later times first.
			if c := bytes.Compare(ea, appendTimeDesc(nil, b)); c != cmp.Compare(j, i) {
				t.Errorf("%v vs %v: encodings compare %d, want %d", a, b, c, cmp.Compare(j, i))
			}
		}
	}
	if _, _, err := decodeTimeDesc(make([]byte, timeDescLen)); err == nil {
		t.Error("decodeTimeDesc accepted nanoseconds >= 1e9")
	}
}

func FuzzTimeDesc(f *testing.F) {
	f.Add(int64(0), uint32(0), int64(1), uint32(0))
	f.Add(int64(-62135596800), uint32(0), int64(1772366400), uint32(123456789))
	f.Fuzz(func(t *testing.T, s1 int64, n1 uint32, s2 int64, n2 uint32) {
		a, b := time.Unix(s1, int64(n1%1e9)).UTC(), time.Unix(s2, int64(n2%1e9)).UTC()
		ea, eb := appendTimeDesc(nil, a), appendTimeDesc(nil, b)
		if got, _, err := decodeTimeDesc(ea); err != nil || !got.Equal(a) {
			t.Fatalf("round trip of %v: %v, %v", a, got, err)
		}
		if got, want := bytes.Compare(ea, eb), b.Compare(a); got != want {
			t.Fatalf("%v vs %v: encodings compare %d, want %d", a, b, got, want)
		}
	})
}

// FuzzKeys checks the composite keys: distinct (tenant, source, id) triples
// get distinct keys, a tenant's span holds only its own keys, an id's span
// holds exactly its sources' entries, and time index keys parse back and sort
// by (time desc, id, source).
func FuzzKeys(f *testing.F) {
	f.Add("acme", "a", "/s", "acme2", "a", "/s", int64(1), int64(1))
	f.Add("a", "b\x00", "/s", "a", "b", "\x00/s", int64(5), int64(-5))
	f.Add("a", "-b", "", "a-b", "", "-b", int64(0), int64(0))
	f.Add("a", "x", "/one", "a", "x", "/two", int64(3), int64(3))
	f.Fuzz(func(t *testing.T, t1, id1, s1, t2, id2, s2 string, n1, n2 int64) {
		if !ValidTenant(t1) || !ValidTenant(t2) {
			return
		}
		same := t1 == t2 && id1 == id2 && s1 == s2
		if same != bytes.Equal(idKey(t1, id1, s1), idKey(t2, id2, s2)) {
			t.Fatalf("idKey(%q,%q,%q) vs idKey(%q,%q,%q): equality does not match the triples'", t1, id1, s1, t2, id2, s2)
		}
		p := idPrefix(t1, id1)
		if in := bytes.HasPrefix(idKey(t2, id2, s2), p); in != (t1 == t2 && id1 == id2) {
			t.Fatalf("idKey(%q,%q,%q) in the span of id %q of %q: %t", t2, id2, s2, id1, t1, in)
		}
		tm1, tm2 := time.Unix(0, n1).UTC(), time.Unix(0, n2).UTC()
		k1 := timeKey(t1, appendTimeDesc(nil, tm1), id1, s1)
		k2 := timeKey(t2, appendTimeDesc(nil, tm2), id2, s2)
		for _, ns := range []byte{nsByID, nsByTime} {
			lo := tenantPrefix(ns, t1)
			hi := successor(lo)
			key := idKey(t2, id2, s2)
			if ns == nsByTime {
				key = k2
			}
			in := bytes.Compare(key, lo) >= 0 && bytes.Compare(key, hi) < 0
			if in != (t1 == t2) {
				t.Fatalf("key of tenant %q in span of tenant %q: %t", t2, t1, in)
			}
		}
		tp := tenantPrefix(nsByTime, t1)
		gotT, gotID, gotSrc, err := parseTimeSuffix(k1[len(tp):])
		if err != nil || !gotT.Equal(tm1) || gotID != id1 || gotSrc != s1 {
			t.Fatalf("parse of timeKey(%q, %v, %q, %q) = %v, %q, %q, %v", t1, tm1, id1, s1, gotT, gotID, gotSrc, err)
		}
		if t1 == t2 {
			want := tm2.Compare(tm1) // newer first
			if want == 0 {
				want = strings.Compare(id1, id2)
			}
			if want == 0 {
				want = strings.Compare(s1, s2)
			}
			if got := bytes.Compare(k1, k2); got != want {
				t.Fatalf("timeKey order of (%v,%q,%q) vs (%v,%q,%q): %d, want %d", tm1, id1, s1, tm2, id2, s2, got, want)
			}
		}
	})
}

func TestSuccessor(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte{0x01}, []byte{0x02}},
		{[]byte{0x01, 0xFF}, []byte{0x02}},
		{[]byte{'a', 0x00, 0x01}, []byte{'a', 0x00, 0x02}},
		{[]byte{0xFF, 0xFF}, nil},
	} {
		if got := successor(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("successor(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
}

func FuzzBody(f *testing.F) {
	f.Add("t", "/s", "sub", "t/v1", []byte(`{"a":1}`), int64(1), uint32(2))
	f.Add("", "", "", "", []byte(nil), int64(-1), uint32(0))
	f.Fuzz(func(t *testing.T, typ, src, subj, schema string, ev []byte, sec int64, nsec uint32) {
		in := Record{Type: typ, Source: src, Subject: subj, SchemaID: schema, Event: ev,
			StoredAt: time.Unix(sec, int64(nsec%1e9)).UTC()}
		b := encodeBody(&in)
		var out Record
		if err := decodeBody(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Type != typ || out.Source != src || out.Subject != subj || out.SchemaID != schema ||
			!bytes.Equal(out.Event, ev) || !out.StoredAt.Equal(in.StoredAt) {
			t.Fatalf("round trip: %+v, want %+v", out, in)
		}
		// Truncations and garbage must fail cleanly, not panic.
		for i := range b {
			_ = decodeBody(b[:i], &out)
		}
		_ = decodeBody(ev, &out)
	})
}
