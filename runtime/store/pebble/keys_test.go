package pebble

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

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
		if !store.ValidTenant(t1) || !store.ValidTenant(t2) {
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
		k1 := timeKey(t1, store.AppendTimeDesc(nil, tm1), id1, s1)
		k2 := timeKey(t2, store.AppendTimeDesc(nil, tm2), id2, s2)
		for _, ns := range []byte{nsByID, nsByTime} {
			lo := tenantPrefix(ns, t1)
			hi := store.Successor(lo)
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
		got, err := store.DecodePosition(k1[len(tp):])
		if err != nil || !got.Time.Equal(tm1) || got.ID != id1 || got.Source != s1 {
			t.Fatalf("parse of timeKey(%q, %v, %q, %q) = %v, %q, %q, %v", t1, tm1, id1, s1, got.Time, got.ID, got.Source, err)
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
