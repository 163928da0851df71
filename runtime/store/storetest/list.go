package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

func testTypeFilter(t *testing.T, s store.Store) {
	put(t, s,
		rec(tenant, "o1", "com.acme.order", t0, "1"),
		rec(tenant, "c1", "com.acme.order.created", t0.Add(time.Second), "2"),
		rec(tenant, "c2", "com.acme.order.created", t0.Add(-time.Second), "3"),
		rec(tenant, "p1", "com.acme.payment", t0.Add(2*time.Second), "4"),
		rec("globex", "c3", "com.acme.order.created", t0, "5"),
	)
	// Exact match only: com.acme.order is not a prefix filter.
	wantIDs(t, "type com.acme.order", listAll(t, s, store.Query{Tenant: tenant, Type: "com.acme.order"}), "o1")
	wantIDs(t, "type com.acme.order.created", listAll(t, s, store.Query{Tenant: tenant, Type: "com.acme.order.created"}), "c1", "c2")
	wantIDs(t, "type com.acme", listAll(t, s, store.Query{Tenant: tenant, Type: "com.acme"}))
	wantIDs(t, "no type", listAll(t, s, store.Query{Tenant: tenant}), "p1", "c1", "o1", "c2")
	wantIDs(t, "type and range", listAll(t, s, store.Query{
		Tenant: tenant, Type: "com.acme.order.created", From: t0.Add(-time.Second), To: t0.Add(time.Second),
	}), "c2")
	for _, r := range listAll(t, s, store.Query{Tenant: tenant, Type: "com.acme.order.created"}) {
		sameRecord(t, r, get(t, s, tenant, r.ID))
	}
}

func testTimeRange(t *testing.T, s store.Store) {
	ns := time.Nanosecond
	at := map[string]time.Time{
		"before-from": t0.Add(-ns),
		"from":        t0,
		"from+1":      t0.Add(ns),
		"to-1":        t0.Add(time.Second - ns),
		"to":          t0.Add(time.Second),
		"after-to":    t0.Add(time.Second + ns),
		"zero":        {},
	}
	for id, tm := range at {
		put(t, s, rec(tenant, id, typeOrder, tm, id))
	}
	from, to := t0, t0.Add(time.Second)
	zone := time.FixedZone("UTC-5", -5*3600)
	cases := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"from inclusive, to exclusive", store.Query{From: from, To: to}, []string{"to-1", "from+1", "from"}},
		{"bounds in another zone", store.Query{From: from.In(zone), To: to.In(zone)}, []string{"to-1", "from+1", "from"}},
		{"from only", store.Query{From: from}, []string{"after-to", "to", "to-1", "from+1", "from"}},
		{"to only, zero time included", store.Query{To: to}, []string{"to-1", "from+1", "from", "before-from", "zero"}},
		{"unbounded", store.Query{}, []string{"after-to", "to", "to-1", "from+1", "from", "before-from", "zero"}},
		{"from == to", store.Query{From: from, To: from}, nil},
		{"one nanosecond", store.Query{From: from, To: from.Add(ns)}, []string{"from"}},
		{"nothing in range", store.Query{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}, nil},
	}
	for _, c := range cases {
		for _, typ := range []string{"", typeOrder} {
			q := c.q
			q.Tenant, q.Type = tenant, typ
			wantIDs(t, fmt.Sprintf("%s (type %q)", c.name, typ), listAll(t, s, q), c.want...)
			q.Limit = 1 // the same through one-record pages
			wantIDs(t, fmt.Sprintf("%s (type %q, pages of 1)", c.name, typ), listAll(t, s, q), c.want...)
		}
	}
}

func testOrdering(t *testing.T, s store.Store) {
	// Equal times sort by id in byte order, escapes and all.
	tie := []string{"b", "a", "a\x00", "a\x00\x00", "a\x01", "ab", "\xff", "\xff\x00", "A", "a\xff", "aa"}
	var recs []store.Record
	for i, id := range tie {
		recs = append(recs, rec(tenant, id, typeOrder, t0, fmt.Sprint(i)))
	}
	recs = append(recs,
		rec(tenant, "newest", typeOrder, t0.Add(time.Nanosecond), "n"),
		rec(tenant, "oldest", typeOrder, t0.Add(-time.Nanosecond), "o"),
		rec(tenant, "epoch", typeOrder, time.Unix(0, 0), "e"),
		rec(tenant, "pre-epoch", typeOrder, time.Unix(-1, 999999999), "p"),
		rec(tenant, "far-future", typeOrder, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "f"),
	)
	put(t, s, recs...)
	want := slices.Clone(recs)
	slices.SortFunc(want, func(a, b store.Record) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	for _, q := range []store.Query{{Tenant: tenant}, {Tenant: tenant, Type: typeOrder}, {Tenant: tenant, Limit: 3}} {
		got := listAll(t, s, q)
		wantIDs(t, fmt.Sprintf("List(%+v)", q), got, ids(want)...)
		checkOrder(t, "List", got)
	}
}

// manyRecords puts n records over few distinct times (so that ties are
// common), alternating two types, in batches.
func manyRecords(t *testing.T, s store.Store, n int, rnd *rand.Rand) []store.Record {
	recs := make([]store.Record, n)
	for i := range recs {
		typ := typeOrder
		if i%3 == 0 {
			typ = "com.acme.order.shipped"
		}
		at := t0.Add(time.Duration(rnd.IntN(n/4+1)) * time.Millisecond)
		recs[i] = rec(tenant, fmt.Sprintf("id-%05d", rnd.IntN(1e5)*10+i%10), typ, at, fmt.Sprint(i))
		recs[i].ID = fmt.Sprintf("%s-%d", recs[i].ID, i) // unique
	}
	for i := 0; i < n; i += 250 {
		put(t, s, recs[i:min(i+250, n)]...)
	}
	return recs
}

// sorted returns the records matching q's type and range in List order.
func sorted(recs []store.Record, q store.Query) []store.Record {
	var out []store.Record
	for _, r := range recs {
		if (q.Type == "" || r.Type == q.Type) &&
			(q.From.IsZero() || !r.Time.Before(q.From)) && (q.To.IsZero() || r.Time.Before(q.To)) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Record) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	return out
}

func testPaging(t *testing.T, s store.Store) {
	recs := manyRecords(t, s, 999, rand.New(rand.NewPCG(1, 2)))
	for _, q := range []store.Query{
		{Tenant: tenant, Limit: 37}, // 999 = 27 × 37: the last page must carry no cursor
		{Tenant: tenant, Limit: 1000},
		{Tenant: tenant, Limit: 999},
		{Tenant: tenant, Limit: 998},
		{Tenant: tenant, Limit: 10, Type: typeOrder},
		{Tenant: tenant, Limit: 7, From: t0.Add(50 * time.Millisecond), To: t0.Add(150 * time.Millisecond)},
		{Tenant: tenant, Limit: 5, Type: "com.acme.order.shipped", From: t0.Add(100 * time.Millisecond)},
	} {
		want := sorted(recs, q)
		var got []store.Record
		pages := 0
		for cur := q; ; pages++ {
			p := list(t, s, cur)
			if len(p.Records) > q.Limit {
				t.Fatalf("List(%+v): %d records, limit %d", cur, len(p.Records), q.Limit)
			}
			if p.NextCursor != "" && len(p.Records) < q.Limit {
				t.Errorf("List(%+v): a short page (%d) with a next cursor", cur, len(p.Records))
			}
			got = append(got, p.Records...)
			if p.NextCursor == "" {
				break
			}
			cur.Cursor = p.NextCursor
		}
		if wantPages := max(1, (len(want)+q.Limit-1)/q.Limit); pages+1 != wantPages {
			t.Errorf("List(%+v): %d pages for %d records, want %d", q, pages+1, len(want), wantPages)
		}
		what := fmt.Sprintf("pages of %+v", q)
		wantIDs(t, what, got, ids(want)...)
		checkOrder(t, what, got)
	}
}

func testPagingWithInserts(t *testing.T, s store.Store) {
	rnd := rand.New(rand.NewPCG(3, 4))
	original := manyRecords(t, s, 300, rnd)
	inserted := map[string]bool{}
	var mustSee, mustNotSee []string // inserted after / before the cursor's position
	q := store.Query{Tenant: tenant, Limit: 25}
	var got []store.Record
	for round := 0; ; round++ {
		p := list(t, s, q)
		got = append(got, p.Records...)
		if p.NextCursor == "" {
			break
		}
		last := p.Records[len(p.Records)-1]
		// Insert around the cursor: newest of all, oldest of all, at the
		// cursor's own time with ids on both sides, and somewhere unread.
		fresh := []store.Record{
			rec(tenant, fmt.Sprintf("new-top-%d", round), typeOrder, t0.Add(time.Hour), "n"),
			rec(tenant, fmt.Sprintf("new-bottom-%d", round), typeOrder, t0.Add(-time.Hour), "n"),
			rec(tenant, last.ID+"-after", typeOrder, last.Time, "n"),
			rec(tenant, "\x00before-"+last.ID, typeOrder, last.Time, "n"),
			rec(tenant, fmt.Sprintf("new-mid-%d", round), typeOrder, last.Time.Add(-time.Duration(rnd.IntN(50)+1)*time.Millisecond), "n"),
		}
		put(t, s, fresh...)
		for _, r := range fresh {
			inserted[r.ID] = true
			if before(last, r) {
				mustSee = append(mustSee, r.ID)
			} else {
				mustNotSee = append(mustNotSee, r.ID)
			}
		}
		q.Cursor = p.NextCursor
	}
	checkOrder(t, "pages with inserts between them", got)
	seen := map[string]int{}
	for _, r := range got {
		seen[r.ID]++
	}
	for _, r := range original {
		if seen[r.ID] != 1 {
			t.Errorf("record %q listed %d times, want once", r.ID, seen[r.ID])
		}
	}
	for _, id := range mustSee {
		if seen[id] != 1 {
			t.Errorf("record %q inserted after the cursor listed %d times, want once", id, seen[id])
		}
	}
	for _, id := range mustNotSee {
		if seen[id] != 0 {
			t.Errorf("record %q inserted before the cursor listed %d times, want never", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 || (!inserted[id] && !slices.ContainsFunc(original, func(r store.Record) bool { return r.ID == id })) {
			t.Errorf("record %q listed %d times", id, n)
		}
	}
}

func testLimits(t *testing.T, s store.Store) {
	manyRecords(t, s, 1200, rand.New(rand.NewPCG(5, 6)))
	for _, c := range []struct{ limit, want int }{
		{0, store.DefaultLimit}, {1, 1}, {store.MaxLimit, store.MaxLimit}, {store.MaxLimit + 1, store.MaxLimit}, {1 << 30, store.MaxLimit},
	} {
		p := list(t, s, store.Query{Tenant: tenant, Limit: c.limit})
		if len(p.Records) != c.want || p.NextCursor == "" {
			t.Errorf("Limit %d: %d records (cursor %t), want %d and a cursor", c.limit, len(p.Records), p.NextCursor != "", c.want)
		}
	}
	if p := list(t, s, store.Query{Tenant: "nobody"}); len(p.Records) != 0 || p.NextCursor != "" {
		t.Errorf("List of an empty tenant: %d records, cursor %q", len(p.Records), p.NextCursor)
	}
}

func testCursor(t *testing.T, s store.Store) {
	manyRecords(t, s, 50, rand.New(rand.NewPCG(7, 8)))
	put(t, s, rec("globex", "g", typeOrder, t0, "g"))
	q := store.Query{Tenant: tenant, Type: typeOrder, From: t0, To: t0.Add(time.Hour), Limit: 5}
	p := list(t, s, q)
	if p.NextCursor == "" {
		t.Fatal("no cursor after a full page")
	}
	// The page size may change between pages.
	next := q
	next.Cursor, next.Limit = p.NextCursor, 7
	if p2 := list(t, s, next); len(p2.Records) != 7 || p2.Records[0].ID == p.Records[0].ID {
		t.Errorf("continuing with another limit: %d records", len(p2.Records))
	}
	bad := map[string]store.Query{
		"garbage":      {Tenant: tenant, Cursor: "not a cursor!"},
		"empty base64": {Tenant: tenant, Cursor: "AA"},
		"other tenant": {Tenant: "globex", Type: q.Type, From: q.From, To: q.To, Cursor: p.NextCursor},
		"other type":   {Tenant: tenant, Type: "com.acme.other", From: q.From, To: q.To, Cursor: p.NextCursor},
		"no type":      {Tenant: tenant, From: q.From, To: q.To, Cursor: p.NextCursor},
		"other from":   {Tenant: tenant, Type: q.Type, From: q.From.Add(1), To: q.To, Cursor: p.NextCursor},
		"other to":     {Tenant: tenant, Type: q.Type, From: q.From, Cursor: p.NextCursor},
	}
	for name, bq := range bad {
		if _, err := s.List(context.Background(), bq); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("%s: List = %v, want ErrInvalidCursor", name, err)
		}
	}
}
