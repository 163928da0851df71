package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// layoutCurrent is the key layout this version writes (keys.go). A
// store without a layout key is layout 1, or empty.
const layoutCurrent = 2

// Layout 1 keyspaces: the same roles as 'I', 'T' and 'Y', without the
// source, so that two records with one id were one.
const (
	v1ByID   byte = 'i'
	v1ByTime byte = 't'
	v1ByType byte = 'y'
)

// migrateBatchBytes is how much a migration batch holds before it is
// committed (without sync: the last commit syncs them all, WAL order).
const migrateBatchBytes = 4 << 20

var layoutKey = store.AppendString([]byte{nsMeta}, "layout")

// migrateLayout brings db to layoutCurrent before the store uses it. Layout
// 1 is rewritten: every body of 't' is written under its layout 2 keys, then
// one synced batch deletes the layout 1 keyspaces and records the layout.
// Nothing else writes meanwhile, and the layout 2 keys are a function of
// the layout 1 entries, so a migration cut short simply runs again at the
// next open.
func migrateLayout(db *pebble.DB, log *slog.Logger) error {
	v, closer, err := db.Get(layoutKey)
	switch {
	case err == nil:
		got := -1
		if len(v) == 1 {
			got = int(v[0])
		}
		closer.Close()
		if got != layoutCurrent {
			return fmt.Errorf("key layout %d, this version reads %d (written by a newer eventrunner?)", got, layoutCurrent)
		}
		return nil
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("read key layout: %w", err)
	}
	start := time.Now()
	n, err := migrateV1(db)
	if err != nil {
		return fmt.Errorf("migrate key layout 1 to %d: %w", layoutCurrent, err)
	}
	if n > 0 {
		log.Info("store: pebble migrated to the (tenant, source, id) key layout",
			"records", n, "layout", layoutCurrent, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// migrateV1 copies the layout 1 records into layout 2 and ends with the
// batch that removes layout 1 and records the new layout. It returns how
// many records it copied.
func migrateV1(db *pebble.DB) (int, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{v1ByTime}, UpperBound: []byte{v1ByTime + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	b := db.NewBatch()
	defer func() { b.Close() }()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return n, err
		}
		if err := stageV1(b, it.Key(), v); err != nil {
			return n, fmt.Errorf("layout 1 key %q: %w", it.Key(), err)
		}
		n++
		if b.Len() >= migrateBatchBytes {
			if err := b.Commit(pebble.NoSync); err != nil {
				return n, err
			}
			b.Close()
			b = db.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		return n, err
	}
	for _, ns := range []byte{v1ByID, v1ByTime, v1ByType} {
		if err := b.DeleteRange([]byte{ns}, []byte{ns + 1}, nil); err != nil {
			return n, err
		}
	}
	if err := b.Set(layoutKey, []byte{layoutCurrent}, nil); err != nil {
		return n, err
	}
	return n, b.Commit(pebble.Sync)
}

// stageV1 writes the layout 2 entries of the layout 1 body at key
// 't' tenant time↓ id, whose source and type the body holds.
func stageV1(b *pebble.Batch, key, body []byte) error {
	tenant, rest, err := store.DecodeString(key[1:])
	if err != nil || len(rest) < store.TimeDescLen {
		return errBadKey
	}
	tdesc := rest[:store.TimeDescLen]
	id, rest, err := store.DecodeString(rest[store.TimeDescLen:])
	if err != nil || len(rest) != 0 {
		return errBadKey
	}
	typ, source, err := bodyTypeSource(body)
	if err != nil {
		return err
	}
	if err := b.Set(idKey(tenant, id, source), encodeIDValue(tdesc, typ), nil); err != nil {
		return err
	}
	if err := b.Set(timeKey(tenant, tdesc, id, source), body, nil); err != nil {
		return err
	}
	return b.Set(typeKey(tenant, typ, tdesc, id, source), nil, nil)
}
