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
		got := AppendString([]byte("prefix"), tc.in)
		if !bytes.Equal(got, append([]byte("prefix"), tc.want...)) {
			t.Errorf("AppendString(%q) = %x, want prefix+%x", tc.in, got, tc.want)
		}
		s, rest, err := DecodeString(append(got[len("prefix"):], "tail"...))
		if err != nil || s != tc.in || string(rest) != "tail" {
			t.Errorf("DecodeString(AppendString(%q)) = %q, %q, %v", tc.in, s, rest, err)
		}
	}
	for _, bad := range [][]byte{nil, {'a'}, {0x00}, {'a', 0x00}, {0x00, 0x02}, {0x00, 0xFF}} {
		if _, _, err := DecodeString(bad); err == nil {
			t.Errorf("DecodeString(%x) accepted an unterminated or bad escape", bad)
		}
	}
}

// checkStringOrder is the property the List order and tenant isolation rest
// on: encodings compare like the strings, and none is a prefix of another.
func checkStringOrder(t *testing.T, a, b string) {
	ea, eb := AppendString(nil, a), AppendString(nil, b)
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
		s, rest, err := DecodeString(AppendString(nil, a))
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
		ea := AppendTimeDesc(nil, a)
		got, rest, err := DecodeTimeDesc(ea)
		if err != nil || !got.Equal(a) || got.Location() != time.UTC || len(rest) != 0 || len(ea) != TimeDescLen {
			t.Errorf("round trip of %v: %v, %x, %v", a, got, rest, err)
		}
		for j, b := range times {
			// Later times first.
			if c := bytes.Compare(ea, AppendTimeDesc(nil, b)); c != cmp.Compare(j, i) {
				t.Errorf("%v vs %v: encodings compare %d, want %d", a, b, c, cmp.Compare(j, i))
			}
		}
	}
	if _, _, err := DecodeTimeDesc(make([]byte, TimeDescLen)); err == nil {
		t.Error("DecodeTimeDesc accepted nanoseconds >= 1e9")
	}
}

func FuzzTimeDesc(f *testing.F) {
	f.Add(int64(0), uint32(0), int64(1), uint32(0))
	f.Add(int64(-62135596800), uint32(0), int64(1772366400), uint32(123456789))
	f.Fuzz(func(t *testing.T, s1 int64, n1 uint32, s2 int64, n2 uint32) {
		a, b := time.Unix(s1, int64(n1%1e9)).UTC(), time.Unix(s2, int64(n2%1e9)).UTC()
		ea, eb := AppendTimeDesc(nil, a), AppendTimeDesc(nil, b)
		if got, _, err := DecodeTimeDesc(ea); err != nil || !got.Equal(a) {
			t.Fatalf("round trip of %v: %v, %v", a, got, err)
		}
		if got, want := bytes.Compare(ea, eb), b.Compare(a); got != want {
			t.Fatalf("%v vs %v: encodings compare %d, want %d", a, b, got, want)
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
		if got := Successor(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("Successor(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
}
