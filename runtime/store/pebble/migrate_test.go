package pebble_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	pebbledb "github.com/cockroachdb/pebble/v2"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
)

var quiet = pebble.Options{Logger: slog.New(slog.DiscardHandler)}

// The Pebble key layout 1, frozen here as it was written before records were
// keyed by source: 'i' tenant id → (1, time↓, type), 't' tenant time↓ id →
// body, 'y' tenant type time↓ id → empty.
func v1String(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0x00, 0xFF)
		} else {
			dst = append(dst, s[i])
		}
	}
	return append(dst, 0x00, 0x01)
}

func v1TimeDesc(t time.Time) []byte {
	b := binary.BigEndian.AppendUint64(nil, ^(uint64(t.Unix()) ^ 1<<63))
	return binary.BigEndian.AppendUint32(b, ^uint32(t.Nanosecond()))
}

func v1Body(r store.Record) []byte {
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, uint64(r.StoredAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(r.StoredAt.Nanosecond()))
	for _, s := range []string{r.Type, r.Source, r.Subject, r.SchemaID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, r.Event...)
}

// writeV1 writes recs into a new Pebble database in dir in layout 1.
func writeV1(t *testing.T, dir string, recs []store.Record) {
	t.Helper()
	db, err := pebbledb.Open(dir, rawOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	for _, r := range recs {
		td := v1TimeDesc(r.Time)
		must(t, b.Set(v1String(v1String([]byte{'i'}, r.Tenant), r.ID), append(append([]byte{1}, td...), r.Type...), nil))
		must(t, b.Set(v1String(append(v1String([]byte{'t'}, r.Tenant), td...), r.ID), v1Body(r), nil))
		must(t, b.Set(v1String(append(v1String(v1String([]byte{'y'}, r.Tenant), r.Type), td...), r.ID), nil, nil))
	}
	must(t, b.Commit(pebbledb.Sync))
	must(t, db.Close())
}

// rawOptions opens a test's database directly, without Pebble's chatter.
func rawOptions() *pebbledb.Options {
	return &pebbledb.Options{FormatMajorVersion: pebbledb.FormatNewest, Logger: quietLogger{}}
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(string, ...any)          {}
func (quietLogger) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rawKeys lists the keys of dir whose first byte is one of namespaces.
func rawKeys(t *testing.T, dir string, namespaces string) []string {
	t.Helper()
	db, err := pebbledb.Open(dir, rawOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for valid := it.First(); valid; valid = it.Next() {
		if strings.IndexByte(namespaces, it.Key()[0]) >= 0 {
			out = append(out, string(it.Key()))
		}
	}
	return out
}

// TestMigrateLayout1 opens a store written in layout 1 (keyed by
// tenant and id): every record must be readable by Get, Lookup and List
// afterwards, with StoredAt kept; new writes must use the source as part of
// the identity; re-putting a migrated record unchanged must change nothing;
// and no layout 1 key may remain.
func TestMigrateLayout1(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	stored := time.Date(2026, 3, 1, 12, 0, 1, 7, time.UTC)
	old := []store.Record{
		{Tenant: "acme", Source: "/a", ID: "x", Type: "t.one", Subject: "s", SchemaID: "t.one/v1", Time: t0, Event: []byte(`{"id":"x","source":"/a"}`), StoredAt: stored},
		{Tenant: "acme", Source: "/b", ID: "y", Type: "t.two", Time: t0.Add(time.Second), Event: []byte(`{"id":"y"}`), StoredAt: stored},
		{Tenant: "acme", Source: "/c", ID: "nul\x00id", Type: "t.one", Time: t0.Add(-time.Hour), Event: []byte(`{}`), StoredAt: stored},
		{Tenant: "globex", Source: "/a", ID: "x", Type: "t.one", Time: t0, Event: []byte(`{"tenant":"globex"}`), StoredAt: stored},
	}
	writeV1(t, dir, old)

	s, err := pebble.Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range old {
		got, err := s.Get(ctx, want.Tenant, want.Source, want.ID)
		if err != nil {
			t.Fatalf("Get(%s, %q, %q) after the migration: %v", want.Tenant, want.Source, want.ID, err)
		}
		if got.Type != want.Type || got.Subject != want.Subject || got.SchemaID != want.SchemaID || !got.Time.Equal(want.Time) ||
			!bytes.Equal(got.Event, want.Event) || !got.StoredAt.Equal(want.StoredAt) {
			t.Errorf("migrated %q: %+v, want %+v", want.ID, got, want)
		}
		if l, err := s.Lookup(ctx, want.Tenant, want.ID, 0); err != nil || len(l) != 1 || l[0].Source != want.Source {
			t.Errorf("Lookup(%s, %q) after the migration: %+v, %v", want.Tenant, want.ID, l, err)
		}
	}
	listIDs := func(q store.Query) string {
		t.Helper()
		p, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range p.Records {
			ids = append(ids, r.Source+" "+r.ID)
		}
		return strings.Join(ids, ",")
	}
	if got := listIDs(store.Query{Tenant: "acme"}); got != "/b y,/a x,/c nul\x00id" {
		t.Errorf("List after the migration: %q", got)
	}
	if got := listIDs(store.Query{Tenant: "acme", Type: "t.one"}); got != "/a x,/c nul\x00id" {
		t.Errorf("List by type after the migration: %q", got)
	}

	// New writes: the same id from another source is a second record; the
	// migrated record re-put unchanged keeps StoredAt; one moved leaves no
	// layout 2 entry behind either.
	fresh := store.Record{Tenant: "acme", Source: "/new", ID: "x", Type: "t.one", Time: t0, Event: []byte(`{"id":"x","source":"/new"}`)}
	again := old[0]
	again.StoredAt = time.Time{}
	moved := old[1]
	moved.Type, moved.Time, moved.StoredAt = "t.three", t0.Add(time.Hour), time.Time{}
	must(t, s.Put(ctx, []store.Record{fresh, again, moved}))
	if l, err := s.Lookup(ctx, "acme", "x", 0); err != nil || len(l) != 2 || l[0].Source != "/a" || l[1].Source != "/new" {
		t.Errorf("Lookup(acme, x) after a second source wrote x: %+v, %v", l, err)
	}
	if got, err := s.Get(ctx, "acme", "/a", "x"); err != nil || !got.StoredAt.Equal(stored) {
		t.Errorf("migrated record re-put unchanged: StoredAt %v, %v, want %v", got.StoredAt, err, stored)
	}
	if got := listIDs(store.Query{Tenant: "acme", Type: "t.two"}); got != "" {
		t.Errorf("List of the moved record's old type: %q", got)
	}
	if got := listIDs(store.Query{Tenant: "acme"}); got != "/b y,/a x,/new x,/c nul\x00id" {
		t.Errorf("List after new writes: %q", got)
	}
	must(t, s.Close())

	if left := rawKeys(t, dir, "ity"); len(left) != 0 {
		t.Errorf("layout 1 keys left after the migration: %q", left)
	}
	// Reopening does not migrate again and finds everything.
	s, err = pebble.Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got := listIDs(store.Query{Tenant: "acme"}); got != "/b y,/a x,/new x,/c nul\x00id" {
		t.Errorf("List after reopening: %q", got)
	}
	must(t, s.Close())
}

// TestMigrateRerun opens a layout 1 store that a migration cut short
// left with some layout 2 entries and no layout key: the migration runs
// again and every record is there once.
func TestMigrateRerun(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var old []store.Record
	for i := range 5 {
		old = append(old, store.Record{Tenant: "acme", Source: "/s", ID: fmt.Sprint("r", i), Type: "t.one", Time: t0.Add(time.Duration(i) * time.Second),
			Event: []byte(fmt.Sprint(i)), StoredAt: t0})
	}
	writeV1(t, dir, old)
	db, err := pebbledb.Open(dir, rawOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range old[:2] { // what the first commit of an interrupted migration wrote
		td := v1TimeDesc(r.Time)
		must(t, db.Set(v1String(v1String(v1String([]byte{'I'}, r.Tenant), r.ID), r.Source), append(append([]byte{1}, td...), r.Type...), nil))
		must(t, db.Set(v1String(v1String(append(v1String([]byte{'T'}, r.Tenant), td...), r.ID), r.Source), v1Body(r), nil))
		must(t, db.Set(v1String(v1String(append(v1String(v1String([]byte{'Y'}, r.Tenant), r.Type), td...), r.ID), r.Source), nil, nil))
	}
	must(t, db.Close())
	s, err := pebble.Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []store.Query{{Tenant: "acme"}, {Tenant: "acme", Type: "t.one"}} {
		p, err := s.List(ctx, q)
		if err != nil || len(p.Records) != len(old) {
			t.Fatalf("List(%+v) after the rerun: %d records, %v", q, len(p.Records), err)
		}
	}
	for _, r := range old {
		if got, err := s.Get(ctx, "acme", "/s", r.ID); err != nil || string(got.Event) != string(r.Event) || !got.StoredAt.Equal(t0) {
			t.Errorf("Get(%s) after the rerun: %+v, %v", r.ID, got, err)
		}
	}
}

// TestLayoutFromTheFuture checks that a store recording a layout this
// version does not know is refused rather than misread.
func TestLayoutFromTheFuture(t *testing.T) {
	dir := t.TempDir()
	db, err := pebbledb.Open(dir, rawOptions())
	if err != nil {
		t.Fatal(err)
	}
	must(t, db.Set(v1String([]byte{'m'}, "layout"), []byte{99}, pebbledb.Sync))
	must(t, db.Close())
	s, err := pebble.Open(dir, quiet)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted key layout 99")
	}
	if !strings.Contains(err.Error(), "layout 99") {
		t.Errorf("error %q does not name the layout", err)
	}
}

// TestNewStoreLayout checks that a new store records its layout, so
// that it is never taken for a layout 1 store later.
func TestNewStoreLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := pebble.Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	if got := rawKeys(t, dir, "m"); len(got) != 1 || got[0] != string(v1String([]byte{'m'}, "layout")) {
		t.Errorf("meta keys of a new store: %q", got)
	}
}
