package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// testSourceIdentity checks that a record is (tenant, source, id): the same
// id from two sources is two records, each upserted on its own, and a retry
// of one source's event is stored once.
func testSourceIdentity(t *testing.T, s store.Store) {
	a := recFrom(tenant, "/a", "same", typeOrder, t0, "a")
	b := recFrom(tenant, "/b", "same", typeOrder, t0, "b")
	put(t, s, a)
	put(t, s, b)
	sameRecord(t, getFrom(t, s, tenant, "/a", "same"), a)
	sameRecord(t, getFrom(t, s, tenant, "/b", "same"), b)
	wantKeys(t, "List of one id from two sources", listAll(t, s, store.Query{Tenant: tenant}), "/a same", "/b same")
	wantKeys(t, "List by type", listAll(t, s, store.Query{Tenant: tenant, Type: typeOrder}), "/a same", "/b same")

	// A retry of either is stored once and changes nothing.
	first := getFrom(t, s, tenant, "/a", "same")
	time.Sleep(2 * time.Millisecond)
	put(t, s, a, a)
	put(t, s, b)
	if got := getFrom(t, s, tenant, "/a", "same"); !got.StoredAt.Equal(first.StoredAt) {
		t.Errorf("a retry of (/a, same) changed StoredAt from %v to %v", first.StoredAt, got.StoredAt)
	}
	wantKeys(t, "List after retries", listAll(t, s, store.Query{Tenant: tenant}), "/a same", "/b same")

	// New content for one source leaves the other alone, also when it moves.
	a2 := recFrom(tenant, "/a", "same", "com.acme.order.shipped", t0.Add(time.Minute), "a2")
	put(t, s, a2)
	sameRecord(t, getFrom(t, s, tenant, "/a", "same"), a2)
	sameRecord(t, getFrom(t, s, tenant, "/b", "same"), b)
	wantKeys(t, "List after moving /a", listAll(t, s, store.Query{Tenant: tenant}), "/a same", "/b same")
	wantKeys(t, "List of the old type", listAll(t, s, store.Query{Tenant: tenant, Type: typeOrder}), "/b same")
	wantKeys(t, "List of the new type", listAll(t, s, store.Query{Tenant: tenant, Type: "com.acme.order.shipped"}), "/a same")

	// One batch naming one id from three sources keeps all three (and the
	// last of a repeated one).
	c := recFrom(tenant, "/c", "batched", typeOrder, t0, "c")
	d := recFrom(tenant, "/d", "batched", typeOrder, t0, "d")
	e := recFrom(tenant, "/e", "batched", typeOrder, t0, "e")
	d2 := recFrom(tenant, "/d", "batched", typeOrder, t0, "d2")
	put(t, s, c, d, e, d2)
	for _, r := range []store.Record{c, d2, e} {
		sameRecord(t, getFrom(t, s, tenant, r.Source, r.ID), r)
	}
	wantKeys(t, "Lookup of a batch's id", lookup(t, s, tenant, "batched", 0), "/c batched", "/d batched", "/e batched")

	// Sources that are prefixes of each other or differ by a NUL are
	// distinct, and so are (source, id) pairs whose concatenations agree.
	tricky := []store.Record{
		recFrom(tenant, "/x", "p", typeOrder, t0, "1"),
		recFrom(tenant, "/x/", "p", typeOrder, t0, "2"),
		recFrom(tenant, "/x\x00", "p", typeOrder, t0, "3"),
		recFrom(tenant, "/x", "/p", typeOrder, t0, "4"),
		recFrom(tenant, "/x/", "p", typeOrder, t0, "5"), // the same as 2: the last wins
		recFrom(tenant, "/xp", "q", typeOrder, t0, "6"),
		recFrom(tenant, "/x", "pq", typeOrder, t0, "7"),
	}
	put(t, s, tricky...)
	for i, r := range tricky {
		if i == 1 {
			continue // replaced by tricky[4]
		}
		sameRecord(t, getFrom(t, s, tenant, r.Source, r.ID), r)
	}
	wantKeys(t, "Lookup(p)", lookup(t, s, tenant, "p", 0), "/x p", "/x\x00 p", "/x/ p")
}

// testSourcePaging pages one record at a time through records that share
// their time and id and differ only in source: the cursor must hold the
// source, or a page would repeat or skip them.
func testSourcePaging(t *testing.T, s store.Store) {
	var want []string
	for i := range 7 {
		src := fmt.Sprintf("/s%d", i)
		put(t, s, recFrom(tenant, src, "tie", typeOrder, t0, src), recFrom(tenant, src, "tie2", "com.acme.other", t0, src))
		want = append(want, src+" tie")
	}
	var want2 []string
	for i := range 7 {
		want2 = append(want2, fmt.Sprintf("/s%d tie2", i))
	}
	for _, limit := range []int{1, 2, 3} {
		var got []store.Record
		q := store.Query{Tenant: tenant, Type: typeOrder, Limit: limit}
		got = listAll(t, s, q)
		wantKeys(t, fmt.Sprintf("List by type, pages of %d", limit), got, want...)
		checkOrder(t, "List by type", got)
		all := listAll(t, s, store.Query{Tenant: tenant, Limit: limit})
		wantKeys(t, fmt.Sprintf("List, pages of %d", limit), all, append(append([]string(nil), want...), want2...)...)
		checkOrder(t, "List", all)
	}
}

// testLookup checks Lookup: every source of an id, in source byte order,
// bounded by its limit, full records consistent with Get.
func testLookup(t *testing.T, s store.Store) {
	var recs []store.Record
	for i := range 12 {
		recs = append(recs, recFrom(tenant, fmt.Sprintf("/src-%02d", 11-i), "multi", typeOrder, t0.Add(time.Duration(i)*time.Second), fmt.Sprint(i)))
	}
	recs = append(recs, rec(tenant, "multi-not", typeOrder, t0, "n"), rec(tenant, "mult", typeOrder, t0, "n"), rec("globex", "multi", typeOrder, t0, "g"))
	put(t, s, recs...)
	got := lookup(t, s, tenant, "multi", 0)
	if len(got) != 12 {
		t.Fatalf("Lookup(multi) = %d records, want 12", len(got))
	}
	for i, r := range got {
		if want := fmt.Sprintf("/src-%02d", i); r.Source != want || r.ID != "multi" || r.Tenant != tenant {
			t.Errorf("Lookup(multi)[%d] = %s, want source %s", i, brief(r), want)
		}
		sameRecord(t, r, getFrom(t, s, tenant, r.Source, "multi"))
		if !bytes.Contains(r.Event, []byte(`"source":"`+r.Source+`"`)) {
			t.Errorf("Lookup(multi)[%d]: event of another source: %s", i, r.Event)
		}
	}
	for _, c := range []struct{ limit, want int }{{1, 1}, {5, 5}, {12, 12}, {100, 12}, {-1, 12}, {store.MaxLimit + 1, 12}} {
		if got := lookup(t, s, tenant, "multi", c.limit); len(got) != c.want || got[0].Source != "/src-00" {
			t.Errorf("Lookup(multi, limit %d) = %d records, want %d from /src-00", c.limit, len(got), c.want)
		}
	}
	wantKeys(t, "Lookup of globex", lookup(t, s, "globex", "multi", 0), source+" multi")
	wantKeys(t, "Lookup(mult)", lookup(t, s, tenant, "mult", 0), source+" mult")
}
