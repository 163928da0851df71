package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// Options tunes Open. The zero value is the production setting.
type Options struct {
	// NoSync commits without waiting for the write-ahead log to reach the
	// disk: a process crash loses nothing, a machine crash may lose the last
	// writes. For tests and benchmarks; by default a nil Put is durable, which
	// the ingest's 202 relies on.
	NoSync bool
	// CacheSize is Pebble's block cache in bytes (default 128 MiB). Pebble
	// charges its memtables (32 MiB each, up to two or three live) to it, so
	// much less leaves no room for the index and filter blocks that every
	// upsert's lookup reads.
	CacheSize int64
	// Logger receives Pebble's messages: informational ones (WAL replay,
	// compactions) at debug level, errors at error level. Default
	// slog.Default().
	Logger *slog.Logger
}

// logger adapts slog to Pebble's logger, which would otherwise print
// every WAL replay to stderr through the standard log package.
type logger struct{ l *slog.Logger }

func (p logger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p logger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf must not return: Pebble calls it where going on would corrupt data.
func (p logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}

// Store is the embedded store.Store: one Pebble database in a directory,
// written by a single goroutine that commits concurrent Puts together (one
// batch, one WAL sync for the group), which keeps the read-before-write of
// the upsert race-free without per-key locks.
type Store struct {
	db *pebble.DB
	wo *pebble.WriteOptions

	// mu is held shared by every call and exclusively by Close, so that Close
	// drains in-flight calls and nothing touches db afterwards.
	mu     sync.RWMutex
	closed bool

	reqs       chan *putRequest
	writerDone chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	po := &pebble.Options{
		CacheSize:          opts.CacheSize,
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       32 << 20,
		Logger:             logger{opts.Logger},
	}
	if opts.Logger == nil {
		po.Logger = logger{slog.Default()}
	}
	if po.CacheSize == 0 {
		po.CacheSize = 128 << 20
	}
	// Upserts look every id up before writing it, and most ids are new: bloom
	// filters answer those misses without reading data blocks.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// Bodies (the processed event and its input, ~2 KB) go to blob files
	// that compactions move by reference instead of rewriting: compaction
	// fell from ~9% to ~3.5% of the pipeline's CPU, and it is what grows
	// with the store.
	po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{Enabled: true, MinimumSize: 256, MaxBlobReferenceDepth: 10,
			RewriteMinimumAge: 5 * time.Minute, TargetGarbageRatio: 0.2}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open pebble in %s: %w", dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := migrateLayout(db, log); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open pebble in %s: %w", dir, err)
	}
	s := &Store{
		db:         db,
		wo:         pebble.Sync,
		reqs:       make(chan *putRequest, 256),
		writerDone: make(chan struct{}),
	}
	if opts.NoSync {
		s.wo = pebble.NoSync
	}
	go s.writeLoop()
	return s, nil
}

// Close drains in-flight calls and closes the database. Closing twice is a
// no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.reqs)
	<-s.writerDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close pebble: %w", err)
	}
	return nil
}

// enter admits a call unless the store is closed; the caller must s.mu.RUnlock.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// reader is what Get and List need of a *pebble.DB or *pebble.Snapshot.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// errMoved means the record moved between reading its id entry and its body.
var errMoved = errors.New("record moved during read")

// Get returns the record (tenant, source, id).
func (s *Store) Get(ctx context.Context, tenant, source, id string) (store.Record, error) {
	if err := store.CheckGet(tenant, source, id); err != nil {
		return store.Record{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Record{}, fmt.Errorf("store: get %s %q/%q: %w", tenant, source, id, err)
	}
	if err := s.enter(); err != nil {
		return store.Record{}, err
	}
	defer s.mu.RUnlock()
	r, err := s.get(s.db, tenant, source, id)
	if errors.Is(err, errMoved) {
		// A concurrent Put moved it: a snapshot sees both entries at once.
		snap := s.db.NewSnapshot()
		defer snap.Close()
		r, err = s.get(snap, tenant, source, id)
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("store: get %s %q/%q: %w", tenant, source, id, err)
	}
	return r, nil
}

func (s *Store) get(rd reader, tenant, source, id string) (store.Record, error) {
	v, closer, err := rd.Get(idKey(tenant, id, source))
	if errors.Is(err, pebble.ErrNotFound) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, err
	}
	tdesc, _, err := decodeIDValue(v)
	if err != nil {
		closer.Close()
		return store.Record{}, fmt.Errorf("id entry: %w", err)
	}
	r, err := s.body(rd, tenant, source, id, tdesc)
	closer.Close()
	return r, err
}

// body reads the record at time↓ tdesc that an id entry points to.
func (s *Store) body(rd reader, tenant, source, id string, tdesc []byte) (store.Record, error) {
	r := store.Record{Tenant: tenant, ID: id}
	var err error
	if r.Time, _, err = store.DecodeTimeDesc(tdesc); err != nil {
		return store.Record{}, err
	}
	v, closer, err := rd.Get(timeKey(tenant, tdesc, id, source))
	if errors.Is(err, pebble.ErrNotFound) {
		if rd == reader(s.db) {
			return store.Record{}, errMoved
		}
		return store.Record{}, fmt.Errorf("id entry without body: %w", errBadValue)
	}
	if err != nil {
		return store.Record{}, err
	}
	defer closer.Close()
	if err := decodeBody(v, &r); err != nil {
		return store.Record{}, fmt.Errorf("body: %w", err)
	}
	if r.Source != source {
		return store.Record{}, fmt.Errorf("body of source %q under source %q: %w", r.Source, source, errBadValue)
	}
	return r, nil
}

// Lookup returns the records (tenant, *, id) in source order, read from
// one snapshot so that a record moving meanwhile is seen once.
func (s *Store) Lookup(ctx context.Context, tenant, id string, limit int) ([]store.Record, error) {
	if err := store.CheckLookup(tenant, id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: lookup %s %q: %w", tenant, id, err)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	recs, err := s.lookup(tenant, id, store.LookupLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: lookup %s %q: %w", tenant, id, err)
	}
	return recs, nil
}

func (s *Store) lookup(tenant, id string, limit int) ([]store.Record, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	prefix := idPrefix(tenant, id)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.Successor(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var recs []store.Record
	for valid := it.First(); valid && len(recs) < limit; valid = it.Next() {
		source, rest, err := store.DecodeString(it.Key()[len(prefix):])
		if err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("id entry %q: %w", it.Key(), errBadKey)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		tdesc, _, err := decodeIDValue(v)
		if err != nil {
			return nil, fmt.Errorf("id entry %q: %w", it.Key(), err)
		}
		r, err := s.body(snap, tenant, source, id, tdesc)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", source, err)
		}
		recs = append(recs, r)
	}
	return recs, it.Error()
}

// List returns one page of q, scanning the time index, or the type index
// when q.Type is set.
func (s *Store) List(ctx context.Context, q store.Query) (store.Page, error) {
	q, err := store.NormalizeQuery(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("store: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Page{}, fmt.Errorf("store: list %s: %w", q.Tenant, err)
	}
	sp, err := newSpan(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("store: list %s: %w", q.Tenant, err)
	}
	if err := s.enter(); err != nil {
		return store.Page{}, err
	}
	defer s.mu.RUnlock()
	var rd reader = s.db
	if q.Type != "" {
		// Index entries and bodies must come from the same point in time.
		snap := s.db.NewSnapshot()
		defer snap.Close()
		rd = snap
	}
	page, err := s.scan(ctx, rd, q, sp)
	if err != nil {
		return store.Page{}, fmt.Errorf("store: list %s: %w", q.Tenant, err)
	}
	return page, nil
}

// span is the key range a query scans: [lower, upper), keys starting with
// prefix (keyspace, tenant and, for the type index, the type).
type span struct {
	prefix, lower, upper []byte
	empty                bool
}

// newSpan turns the query's bounds and cursor into keys: time < To starts
// after every key at To's time↓, time >= From ends after every key at From's,
// and the cursor starts just after its position's key.
func newSpan(q store.Query) (span, error) {
	var sp span
	if q.Type == "" {
		sp.prefix = tenantPrefix(nsByTime, q.Tenant)
	} else {
		sp.prefix = store.AppendString(tenantPrefix(nsByType, q.Tenant), q.Type)
	}
	sp.lower = sp.prefix
	sp.upper = store.Successor(sp.prefix)
	if !q.To.IsZero() {
		next := store.Successor(store.AppendTimeDesc(nil, q.To))
		if next == nil {
			return span{empty: true}, nil
		}
		sp.lower = append(bytes.Clone(sp.prefix), next...)
	}
	if !q.From.IsZero() {
		if next := store.Successor(store.AppendTimeDesc(nil, q.From)); next != nil {
			sp.upper = append(bytes.Clone(sp.prefix), next...)
		}
	}
	if q.Cursor != "" {
		pos, err := store.DecodeCursor(q)
		if err != nil {
			return span{}, err
		}
		k := append(store.AppendPosition(bytes.Clone(sp.prefix), pos), 0x00)
		if bytes.Compare(k, sp.lower) > 0 {
			sp.lower = k
		}
	}
	sp.empty = bytes.Compare(sp.lower, sp.upper) >= 0
	return sp, nil
}

// scan reads up to q.Limit records of sp, and one more key to know whether
// a next page exists. A type index scan reads the bodies with a second
// iterator over the time index: both are in (time↓, id) order, so its seeks
// only move forward.
func (s *Store) scan(ctx context.Context, rd reader, q store.Query, sp span) (store.Page, error) {
	var page store.Page
	if sp.empty {
		return page, nil
	}
	it, err := rd.NewIter(&pebble.IterOptions{LowerBound: sp.lower, UpperBound: sp.upper})
	if err != nil {
		return page, err
	}
	defer it.Close()
	var bodies *pebble.Iterator
	var lo []byte
	if q.Type != "" {
		lo = tenantPrefix(nsByTime, q.Tenant)
		if bodies, err = rd.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: store.Successor(lo)}); err != nil {
			return page, err
		}
		defer bodies.Close()
	}
	for valid := it.First(); valid; valid = it.Next() {
		if len(page.Records) == q.Limit {
			last := page.Records[len(page.Records)-1]
			page.NextCursor = store.EncodeCursor(q, store.Position{Time: last.Time, ID: last.ID, Source: last.Source})
			break
		}
		if len(page.Records)%64 == 63 {
			if err := ctx.Err(); err != nil {
				return store.Page{}, err
			}
		}
		r, err := scanned(q, sp, it, bodies, lo)
		if err != nil {
			return store.Page{}, err
		}
		page.Records = append(page.Records, r)
	}
	if err := it.Error(); err != nil {
		return store.Page{}, err
	}
	return page, nil
}

// scanned decodes the record at it: from its key and value in the time
// index, or from its key in the type index and the body found by bodies,
// whose keys start with bodyPrefix and end like the type index's. The source
// is read from the body.
func scanned(q store.Query, sp span, it, bodies *pebble.Iterator, bodyPrefix []byte) (store.Record, error) {
	key := it.Key()
	suffix := key[len(sp.prefix):]
	t, id, rest, err := parseTimeID(suffix)
	if err != nil || len(rest) < 2 || rest[len(rest)-2] != 0x00 || rest[len(rest)-1] != 0x01 {
		return store.Record{}, fmt.Errorf("key %q: %w", key, errBadKey)
	}
	r := store.Record{Tenant: q.Tenant, ID: id, Time: t}
	src := it
	if bodies != nil {
		tk := append(append(make([]byte, 0, len(bodyPrefix)+len(suffix)), bodyPrefix...), suffix...)
		if !bodies.SeekGE(tk) || !bytes.Equal(bodies.Key(), tk) {
			if err := bodies.Error(); err != nil {
				return store.Record{}, err
			}
			return store.Record{}, fmt.Errorf("indexed %q has no body: %w", key, errBadValue)
		}
		src = bodies
	}
	v, err := src.ValueAndErr()
	if err != nil {
		return store.Record{}, err
	}
	if err := decodeBody(v, &r); err != nil {
		return store.Record{}, fmt.Errorf("body of %q: %w", key, err)
	}
	return r, nil
}
