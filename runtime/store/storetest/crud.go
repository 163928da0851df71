package storetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

func testPutGet(t *testing.T, s store.Store) {
	berlin := time.FixedZone("CET", 3600)
	recs := []store.Record{
		rec(tenant, "plain", typeOrder, t0, "1"),
		rec(tenant, "with/slash?and=query", typeOrder, t0.Add(time.Second), "2"),
		rec(tenant, "nul\x00inside\x00\x00", typeOrder, t0, "3"),
		rec(tenant, "\xff\xfe not utf-8", typeOrder, t0, "4"),
		rec(tenant, "ünïcödé", "com.acme.payment.settled", t0.In(berlin), "5"), // stored in UTC
		rec(tenant, strings.Repeat("long", 300), typeOrder, time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC), "6"),
		rec(tenant, "zero-time", typeOrder, time.Time{}, "7"),
		{Tenant: tenant, ID: "bare", Source: source, Type: typeOrder, Time: t0}, // empty optional fields
		recFrom(tenant, "src\x00with\x00nul\xff", "odd-source", typeOrder, t0, "9"),
		recFrom(tenant, strings.Repeat("s", 2000), "long-source", typeOrder, t0, "10"),
	}
	explicit := rec(tenant, "explicit-stored-at", typeOrder, t0, "8")
	explicit.StoredAt = time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	recs = append(recs, explicit)

	start := time.Now()
	put(t, s, recs...)
	end := time.Now()
	for _, want := range recs {
		got := getFrom(t, s, want.Tenant, want.Source, want.ID)
		sameRecord(t, got, want)
		if want.StoredAt.IsZero() && (got.StoredAt.Before(start.Add(-time.Second)) || got.StoredAt.After(end.Add(time.Second))) {
			t.Errorf("record %q: StoredAt %v, want the time of Put (%v..%v)", want.ID, got.StoredAt, start, end)
		}
	}
	if got := get(t, s, tenant, explicit.ID); !got.StoredAt.Equal(explicit.StoredAt) {
		t.Errorf("StoredAt given by the caller: got %v, want %v", got.StoredAt, explicit.StoredAt)
	}
	if got := listAll(t, s, store.Query{Tenant: tenant}); len(got) != len(recs) {
		t.Errorf("List: %d records, want %d", len(got), len(recs))
	}
	if err := s.Put(context.Background(), nil); err != nil {
		t.Errorf("Put(nil) = %v, want nil", err)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	put(t, s, rec("other", "only-there", typeOrder, t0, "x"))
	for _, c := range []struct{ tenant, source, id string }{
		{tenant, source, "missing"},
		{tenant, source, "only-there"}, // exists, but in another tenant
		{"other", source, "only-ther"},
		{"other", source, "only-there\x00"},
		{"other", "/other", "only-there"}, // exists, but from another source
		{"other", source + "\x00", "only-there"},
		{"other", "/tes", "only-there"},
	} {
		_, err := s.Get(context.Background(), c.tenant, c.source, c.id)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%s, %q, %q) = %v, want ErrNotFound", c.tenant, c.source, c.id, err)
			continue
		}
		if !strings.Contains(err.Error(), c.tenant) {
			t.Errorf("Get(%s, %q, %q) error %q does not name the tenant", c.tenant, c.source, c.id, err)
		}
	}
	for _, c := range []struct{ tenant, id string }{{tenant, "only-there"}, {"other", "only-ther"}, {"other", "only-there\x00"}} {
		if got := lookup(t, s, c.tenant, c.id, 0); len(got) != 0 {
			t.Errorf("Lookup(%s, %q) = %d records, want none", c.tenant, c.id, len(got))
		}
	}
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	good := rec(tenant, "good", typeOrder, t0, "g")
	for _, bad := range []store.Record{
		rec("", "a", typeOrder, t0, ""),
		rec("Acme", "a", typeOrder, t0, ""),
		rec("-acme", "a", typeOrder, t0, ""),
		rec("ac me", "a", typeOrder, t0, ""),
		rec(strings.Repeat("a", 64), "a", typeOrder, t0, ""),
		rec(tenant, "", typeOrder, t0, ""),
		recFrom(tenant, "", "a", typeOrder, t0, ""),
		rec(tenant, "a", "", t0, ""),
	} {
		// The good record must not be stored either: a batch is all or nothing.
		if err := s.Put(ctx, []store.Record{good, bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Put(%s) = %v, want ErrInvalid", brief(bad), err)
		}
	}
	if _, err := s.Get(ctx, tenant, source, good.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a batch with an invalid record stored its valid one: Get = %v", err)
	}
	for _, k := range [][3]string{{"Not-A-Tenant", source, "x"}, {tenant, "", "x"}, {tenant, source, ""}} {
		if _, err := s.Get(ctx, k[0], k[1], k[2]); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Get(%q, %q, %q) = %v, want ErrInvalid", k[0], k[1], k[2], err)
		}
	}
	for _, k := range [][2]string{{"Not-A-Tenant", "x"}, {"", "x"}, {tenant, ""}} {
		if _, err := s.Lookup(ctx, k[0], k[1], 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Lookup(%q, %q) = %v, want ErrInvalid", k[0], k[1], err)
		}
	}
	for _, q := range []store.Query{
		{Tenant: ""},
		{Tenant: "UPPER"},
		{Tenant: tenant, Limit: -1},
		{Tenant: tenant, From: t0, To: t0.Add(-time.Nanosecond)},
	} {
		if _, err := s.List(ctx, q); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("List(%+v) = %v, want ErrInvalid", q, err)
		}
	}
	if ok := strings.Repeat("a", 63); !store.ValidTenant(ok) || !store.ValidTenant("a_b-c9") {
		t.Errorf("ValidTenant refuses valid ids")
	}
}

func testContext(t *testing.T, s store.Store) {
	put(t, s, rec(tenant, "a", typeOrder, t0, "a"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, []store.Record{rec(tenant, "b", typeOrder, t0, "b")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, tenant, source, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Lookup(ctx, tenant, "a", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Lookup(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, store.Query{Tenant: tenant}); !errors.Is(err, context.Canceled) {
		t.Errorf("List(cancelled) = %v, want context.Canceled", err)
	}
}

func testUpsertIdempotent(t *testing.T, s store.Store) {
	r := rec(tenant, "dup", typeOrder, t0, "same")
	put(t, s, r)
	first := get(t, s, tenant, r.ID)
	time.Sleep(2 * time.Millisecond) // a rewrite would get a later StoredAt
	put(t, s, r)
	put(t, s, r, r) // twice in one batch
	again := r
	again.Time = t0.In(time.FixedZone("X", -7200)) // the same instant
	again.StoredAt = time.Now().Add(time.Hour)     // StoredAt is not content
	put(t, s, again)

	got := get(t, s, tenant, r.ID)
	sameRecord(t, got, r)
	if !got.StoredAt.Equal(first.StoredAt) {
		t.Errorf("re-putting the same record changed StoredAt from %v to %v", first.StoredAt, got.StoredAt)
	}
	wantIDs(t, "List after re-puts", listAll(t, s, store.Query{Tenant: tenant}), "dup")
	wantIDs(t, "List by type after re-puts", listAll(t, s, store.Query{Tenant: tenant, Type: typeOrder}), "dup")

	fresh := rec(tenant, "fresh", typeOrder, t0, "f")
	put(t, s, fresh, fresh, fresh) // new and duplicated in the same batch
	wantIDs(t, "List after a batch with one record thrice", listAll(t, s, store.Query{Tenant: tenant}), "dup", "fresh")
}

func testUpsertReplacesContent(t *testing.T, s store.Store) {
	old := rec(tenant, "r", typeOrder, t0, "old")
	put(t, s, old)
	first := get(t, s, tenant, "r")
	time.Sleep(2 * time.Millisecond)
	updated := rec(tenant, "r", typeOrder, t0, "new")
	updated.SchemaID = typeOrder + "/v2"
	put(t, s, updated)

	got := get(t, s, tenant, "r")
	sameRecord(t, got, updated)
	if !got.StoredAt.After(first.StoredAt) {
		t.Errorf("new content kept StoredAt %v, want later than %v", got.StoredAt, first.StoredAt)
	}
	all := listAll(t, s, store.Query{Tenant: tenant})
	wantIDs(t, "List after an update", all, "r")
	if len(all) == 1 {
		sameRecord(t, all[0], updated)
	}
	// The data as it arrived is content too.
	input := updated
	input.Input = []byte(`{"tag":"new","in":"other"}`)
	put(t, s, input)
	sameRecord(t, get(t, s, tenant, "r"), input)
	// The last record of a batch wins.
	put(t, s, rec(tenant, "r", typeOrder, t0, "b1"), rec(tenant, "r", typeOrder, t0, "b2"))
	sameRecord(t, get(t, s, tenant, "r"), rec(tenant, "r", typeOrder, t0, "b2"))
}

func testReputMoves(t *testing.T, s store.Store) {
	put(t, s,
		rec(tenant, "a", typeOrder, t0, "a"),
		rec(tenant, "b", typeOrder, t0.Add(time.Second), "b"),
		rec(tenant, "c", typeOrder, t0.Add(2*time.Second), "c"),
	)
	moved := rec(tenant, "a", typeOrder, t0.Add(3*time.Second), "a-later")
	put(t, s, moved)
	sameRecord(t, get(t, s, tenant, "a"), moved)
	all := listAll(t, s, store.Query{Tenant: tenant})
	wantIDs(t, "List after moving a to the newest time", all, "a", "c", "b")
	if len(all) > 0 {
		sameRecord(t, all[0], moved)
	}
	wantIDs(t, "List of a's old time", listAll(t, s, store.Query{Tenant: tenant, From: t0, To: t0.Add(time.Second)}))
	wantIDs(t, "List by type", listAll(t, s, store.Query{Tenant: tenant, Type: typeOrder}), "a", "c", "b")

	// A new type moves it between type indexes.
	put(t, s, rec(tenant, "b", "com.acme.order.cancelled", t0.Add(time.Second), "b"))
	wantIDs(t, "List of the old type", listAll(t, s, store.Query{Tenant: tenant, Type: typeOrder}), "a", "c")
	wantIDs(t, "List of the new type", listAll(t, s, store.Query{Tenant: tenant, Type: "com.acme.order.cancelled"}), "b")
	wantIDs(t, "List", listAll(t, s, store.Query{Tenant: tenant}), "a", "c", "b")

	// Moved twice within one batch, then back to where it was.
	put(t, s,
		rec(tenant, "d", typeOrder, t0.Add(10*time.Second), "d1"),
		rec(tenant, "d", typeOrder, t0.Add(-10*time.Second), "d2"),
	)
	wantIDs(t, "List after a batch moving d", listAll(t, s, store.Query{Tenant: tenant}), "a", "c", "b", "d")
	put(t, s, rec(tenant, "d", typeOrder, t0.Add(10*time.Second), "d1"))
	wantIDs(t, "List after moving d back", listAll(t, s, store.Query{Tenant: tenant}), "d", "a", "c", "b")
	wantIDs(t, "List by type after moving d back", listAll(t, s, store.Query{Tenant: tenant, Type: typeOrder}), "d", "a", "c")
}

func testTenantIsolation(t *testing.T, s store.Store) {
	// Tenant ids that are prefixes of each other must not leak into each
	// other's scans.
	tenants := []string{"a", "a-b", "a_b", "ab", "a0", "acme", "acme2"}
	for i, tn := range tenants {
		put(t, s,
			rec(tn, "shared", typeOrder, t0.Add(time.Duration(i)*time.Second), tn),
			rec(tn, "own-"+tn, typeOrder, t0.Add(-time.Hour), tn),
		)
	}
	for _, tn := range tenants {
		got := get(t, s, tn, "shared")
		if !bytes.Contains(got.Event, []byte(`"tag":"`+tn+`"`)) || got.Tenant != tn {
			t.Errorf("Get(%s, shared) returned tenant %s's record: %s", tn, got.Tenant, got.Event)
		}
		if l := lookup(t, s, tn, "shared", 0); len(l) != 1 || l[0].Tenant != tn || !bytes.Contains(l[0].Event, []byte(`"tag":"`+tn+`"`)) {
			t.Errorf("Lookup(%s, shared) = %d records, want its own one", tn, len(l))
		}
		for _, q := range []store.Query{{Tenant: tn}, {Tenant: tn, Type: typeOrder}, {Tenant: tn, From: t0.Add(-2 * time.Hour)}} {
			all := listAll(t, s, q)
			wantIDs(t, "List of "+tn, all, "shared", "own-"+tn)
			for _, r := range all {
				if r.Tenant != tn || !bytes.Contains(r.Event, []byte(`"tag":"`+tn+`"`)) {
					t.Errorf("List(%+v) returned %s", q, brief(r))
				}
			}
		}
	}
	if _, err := s.Get(context.Background(), "a", source, "own-ab"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(a, own-ab) = %v, want ErrNotFound", err)
	}
}

func testLargeEvent(t *testing.T, s store.Store) {
	r := rec(tenant, "big", typeOrder, t0, "big")
	r.Event = append([]byte(`{"specversion":"1.0","data":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	r.Event = append(r.Event, `"}`...)
	put(t, s, r)
	sameRecord(t, get(t, s, tenant, "big"), r)
	page := list(t, s, store.Query{Tenant: tenant, Limit: 1})
	if len(page.Records) != 1 || !bytes.Equal(page.Records[0].Event, r.Event) {
		t.Errorf("List did not return the 1 MiB event intact")
	}
}

// testCallerBuffers checks that Put keeps no reference to the caller's
// memory (the engine reuses one arena for a whole batch of events) and that
// records returned by Get and List are the caller's to modify.
func testCallerBuffers(t *testing.T, s store.Store) {
	r := rec(tenant, "buf", typeOrder, t0, "original")
	want := r
	want.Event, want.Input = bytes.Clone(r.Event), bytes.Clone(r.Input)
	put(t, s, r)
	for i := range r.Event {
		r.Event[i] = 'X'
	}
	for i := range r.Input {
		r.Input[i] = 'X'
	}
	got := get(t, s, tenant, "buf")
	sameRecord(t, got, want)
	for i := range got.Event {
		got.Event[i] = 'Y'
	}
	sameRecord(t, get(t, s, tenant, "buf"), want)
	page := list(t, s, store.Query{Tenant: tenant})
	for i := range page.Records[0].Event {
		page.Records[0].Event[i] = 'Z'
	}
	sameRecord(t, list(t, s, store.Query{Tenant: tenant}).Records[0], want)
}
