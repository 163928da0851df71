// Package storetest is the contract every store.Store backend must keep:
// upsert by (tenant, source, id), Lookup by id across sources, tenant isolation, the List order, filters, bounds
// and cursors, page sizes and concurrent Puts. A backend's tests call Run
// with a function that opens an empty store; run them with -race.
//
// It imports only the standard library and runtime/store.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// Run runs every contract test, each on a fresh store from open. open must
// return an empty store and close it when the test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGet", testPutGet},
		{"NotFound", testNotFound},
		{"Invalid", testInvalid},
		{"Context", testContext},
		{"UpsertIdempotent", testUpsertIdempotent},
		{"UpsertReplacesContent", testUpsertReplacesContent},
		{"SourceIdentity", testSourceIdentity},
		{"SourcePaging", testSourcePaging},
		{"Lookup", testLookup},
		{"ReputMoves", testReputMoves},
		{"TenantIsolation", testTenantIsolation},
		{"TypeFilter", testTypeFilter},
		{"TimeRange", testTimeRange},
		{"Ordering", testOrdering},
		{"Paging", testPaging},
		{"PagingWithInserts", testPagingWithInserts},
		{"Limits", testLimits},
		{"Cursor", testCursor},
		{"ConcurrentPut", testConcurrentPut},
		{"ReadsDuringMoves", testReadsDuringMoves},
		{"LargeEvent", testLargeEvent},
		{"CallerBuffers", testCallerBuffers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// t0 is the tests' reference event time, with nanoseconds so that a backend
// that drops precision fails.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

const (
	tenant    = "acme"
	typeOrder = "com.acme.order.created"
	// source is the source of the records rec builds.
	source = "/test"
)

// rec builds a record of source whose Event is a small structured
// CloudEvent naming tag, so that two versions of a record differ in content,
// and whose Input is the data before the rules.
func rec(tenant, id, typ string, at time.Time, tag string) store.Record {
	return recFrom(tenant, source, id, typ, at, tag)
}

// recFrom is rec with another source.
func recFrom(tenant, src, id, typ string, at time.Time, tag string) store.Record {
	ev := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q,"time":%q,"tenantid":%q,"data":{"tag":%q}}`,
		id, src, typ, at.Format(time.RFC3339Nano), tenant, tag)
	return store.Record{
		Tenant: tenant, ID: id, Type: typ, Source: src, Subject: "s-" + tag,
		Time: at, SchemaID: typ + "/v1", Event: []byte(ev), Input: []byte(fmt.Sprintf(`{"tag":%q,"in":true}`, tag)),
	}
}

func put(t *testing.T, s store.Store, recs ...store.Record) {
	t.Helper()
	if err := s.Put(context.Background(), recs); err != nil {
		t.Fatalf("Put(%d records): %v", len(recs), err)
	}
}

// get returns the record (tenant, source, id).
func get(t *testing.T, s store.Store, tenant, id string) store.Record {
	t.Helper()
	return getFrom(t, s, tenant, source, id)
}

func getFrom(t *testing.T, s store.Store, tenant, src, id string) store.Record {
	t.Helper()
	r, err := s.Get(context.Background(), tenant, src, id)
	if err != nil {
		t.Fatalf("Get(%s, %q, %q): %v", tenant, src, id, err)
	}
	return r
}

func lookup(t *testing.T, s store.Store, tenant, id string, limit int) []store.Record {
	t.Helper()
	recs, err := s.Lookup(context.Background(), tenant, id, limit)
	if err != nil {
		t.Fatalf("Lookup(%s, %q, %d): %v", tenant, id, limit, err)
	}
	return recs
}

func list(t *testing.T, s store.Store, q store.Query) store.Page {
	t.Helper()
	p, err := s.List(context.Background(), q)
	if err != nil {
		t.Fatalf("List(%+v): %v", q, err)
	}
	return p
}

// listAll follows the cursors of q to the end, failing on an empty page
// that carries a cursor or on more pages than records could fill.
func listAll(t *testing.T, s store.Store, q store.Query) []store.Record {
	t.Helper()
	var all []store.Record
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatalf("List(%+v): cursor loop", q)
		}
		p := list(t, s, q)
		all = append(all, p.Records...)
		if p.NextCursor == "" {
			return all
		}
		if len(p.Records) == 0 {
			t.Fatalf("List(%+v): empty page with a next cursor", q)
		}
		q.Cursor = p.NextCursor
	}
}

// sameRecord fails unless got stores want: equal fields, times equal
// instants in UTC, StoredAt set.
func sameRecord(t *testing.T, got, want store.Record) {
	t.Helper()
	if got.Tenant != want.Tenant || got.ID != want.ID || got.Type != want.Type ||
		got.Source != want.Source || got.Subject != want.Subject || got.SchemaID != want.SchemaID {
		t.Errorf("record %q: got attributes %+v, want %+v", want.ID, brief(got), brief(want))
	}
	if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		t.Errorf("record %q: time %v, want %v in UTC", want.ID, got.Time, want.Time.UTC())
	}
	if !bytes.Equal(got.Event, want.Event) {
		t.Errorf("record %q: event %.200s, want %.200s", want.ID, got.Event, want.Event)
	}
	if !bytes.Equal(got.Input, want.Input) {
		t.Errorf("record %q: input %.200s, want %.200s", want.ID, got.Input, want.Input)
	}
	if got.StoredAt.IsZero() || got.StoredAt.Location() != time.UTC {
		t.Errorf("record %q: StoredAt %v, want set, in UTC", want.ID, got.StoredAt)
	}
}

func brief(r store.Record) string {
	return fmt.Sprintf("{%s %q %s src=%s subj=%s schema=%s}", r.Tenant, r.ID, r.Type, r.Source, r.Subject, r.SchemaID)
}

// ids lists the records' ids in order.
func ids(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// wantIDs fails unless recs are exactly the ids, in order.
func wantIDs(t *testing.T, what string, recs []store.Record, want ...string) {
	t.Helper()
	got := ids(recs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		t.Errorf("%s: got ids %q, want %q", what, got, want)
	}
}

// before reports whether a precedes b in List order: newer first, then id,
// then source.
func before(a, b store.Record) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return a.Source < b.Source
}

// keys lists the records' "source id" in order.
func keys(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Source + " " + r.ID
	}
	return out
}

// wantKeys fails unless recs are exactly the "source id" keys, in order.
func wantKeys(t *testing.T, what string, recs []store.Record, want ...string) {
	t.Helper()
	got := keys(recs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// checkOrder fails unless recs are strictly in List order (which also rules
// out a record listed twice in a row).
func checkOrder(t *testing.T, what string, recs []store.Record) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		if !before(recs[i-1], recs[i]) {
			t.Fatalf("%s: record %d (%q at %v) does not follow record %d (%q at %v) in List order",
				what, i, recs[i].ID, recs[i].Time, i-1, recs[i-1].ID, recs[i-1].Time)
		}
	}
}
