package cassandra

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gocql/gocql"
	"golang.org/x/sync/errgroup"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// casRecord is one record of a Put with what the store derives from it and
// the stored state it replaces.
type casRecord struct {
	r      store.Record // Time in UTC
	pos    []byte       // casPos: time↓, id, source
	bucket int64
	digest []byte // of everything but StoredAt

	exists  bool // a version is stored
	oldPos  []byte
	oldType string
	skip    bool // the stored version has the same content
}

// Bounds of one unlogged batch: Cassandra warns above 5 KiB and refuses
// above 50 KiB by default (batch_size_*_threshold); a larger row goes alone.
const (
	casBatchBytes = 32 << 10
	casBatchRows  = 64
)

// Put upserts recs. Records are compared with their stored version by a
// digest of their content, so a redelivered event writes nothing and keeps
// StoredAt. Rows go in order: the bucket index, the list rows (unlogged
// batches per partition), deletes of the rows a record moved away from,
// and last the id rows, which say "stored": a Put interrupted anywhere is
// completed by repeating it, because until the id row is written a repeat
// does every step again.
func (s *Store) Put(ctx context.Context, recs []store.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: put: %w", err)
	}
	for i := range recs {
		if err := store.CheckRecord(&recs[i]); err != nil {
			return fmt.Errorf("store: put: %w", err)
		}
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	batch := newCasBatch(recs)
	unlock := s.lock(batch)
	defer unlock()
	if err := s.put(ctx, batch); err != nil {
		return fmt.Errorf("store: put %d records: %w", len(recs), err)
	}
	return nil
}

// newCasBatch encodes recs, keeping the last of each (tenant, source, id).
func newCasBatch(recs []store.Record) []*casRecord {
	last := make(map[[3]string]int, len(recs))
	for i := range recs {
		last[[3]string{recs[i].Tenant, recs[i].Source, recs[i].ID}] = i
	}
	out := make([]*casRecord, 0, len(last))
	for i := range recs {
		if last[[3]string{recs[i].Tenant, recs[i].Source, recs[i].ID}] != i {
			continue
		}
		out = append(out, newCasRecord(recs[i]))
	}
	return out
}

func newCasRecord(r store.Record) *casRecord {
	c := &casRecord{r: r}
	c.r.Time = c.r.Time.UTC()
	c.pos = casPos(c.r.Time, c.r.ID, c.r.Source)
	c.digest = contentDigest(&c.r, c.pos)
	return c
}

// casPos is the clustering position of a record in the list tables,
// store.AppendPosition (the Pebble backend's 'T' key suffix): time↓, then id
// and source escaped and terminated.
func casPos(t time.Time, id, source string) []byte {
	b := make([]byte, 0, store.TimeDescLen+len(id)+len(source)+4)
	return store.AppendPosition(b, store.Position{Time: t, ID: id, Source: source})
}

// contentDigest hashes what makes two versions of a record differ (the
// position, which holds the time, and every attribute but StoredAt).
func contentDigest(r *store.Record, pos []byte) []byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	fields := [][]byte{pos, []byte(r.Type), []byte(r.Source), []byte(r.Subject), []byte(r.SchemaID), r.Event}
	if len(r.Input) > 0 { // so that a record without keeps the digest it had before Input existed
		fields = append(fields, r.Input)
	}
	for _, f := range fields {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write(f)
	}
	return h.Sum(nil)
}

// lock takes the locks of the batch's records in key order (so that
// two Puts never wait for each other crosswise) and returns their release.
// Locks are per id, not striped: concurrent batches of hundreds of distinct
// ids would almost always share a stripe and run one at a time.
func (s *Store) lock(batch []*casRecord) func() {
	keys := make([]string, len(batch))
	for i, c := range batch {
		keys[i] = c.r.Tenant + "\x00" + string(c.pos[store.TimeDescLen:]) // id and source, delimited
	}
	slices.Sort(keys)
	return s.locks.lock(keys)
}

// keyLocks is a mutex per key, for the keys in use only.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

// lock locks keys (sorted, distinct) one after the other and returns the
// function that unlocks them.
func (l *keyLocks) lock(keys []string) func() {
	held := make([]*keyLock, len(keys))
	for i, k := range keys {
		l.mu.Lock()
		if l.m == nil {
			l.m = make(map[string]*keyLock)
		}
		e := l.m[k]
		if e == nil {
			e = &keyLock{}
			l.m[k] = e
		}
		e.refs++
		l.mu.Unlock()
		e.Lock()
		held[i] = e
	}
	return func() {
		for i, e := range held {
			e.Unlock()
			l.mu.Lock()
			if e.refs--; e.refs == 0 {
				delete(l.m, keys[i])
			}
			l.mu.Unlock()
		}
	}
}

func (s *Store) put(ctx context.Context, batch []*casRecord) error {
	if err := s.readStates(ctx, batch); err != nil {
		return fmt.Errorf("read stored versions: %w", err)
	}
	now := time.Now().UTC()
	var changed []*casRecord
	for _, c := range batch {
		if c.skip {
			continue
		}
		if c.r.StoredAt.IsZero() {
			c.r.StoredAt = now
		}
		c.r.StoredAt = c.r.StoredAt.UTC()
		c.bucket = s.bucketOf(c.r.Time)
		changed = append(changed, c)
	}
	if len(changed) == 0 {
		return nil
	}
	ts := s.timestamp()
	steps := []struct {
		what  string
		stmts []casStmt
	}{
		{"bucket index", s.bucketRows(changed, now)},
		{"list rows", s.listRows(changed)},
		{"old list rows", s.oldRowDeletes(changed)},
		{"id rows", s.idRows(changed)},
	}
	for _, step := range steps {
		if err := s.exec(ctx, step.stmts, ts); err != nil {
			return fmt.Errorf("write %s: %w", step.what, err)
		}
		if s.afterStep != nil {
			if err := s.afterStep(step.what); err != nil {
				return err
			}
		}
	}
	for _, st := range steps[0].stmts {
		s.buckets.done(st.cacheKey, now)
	}
	return nil
}

// readStates reads each record's stored position, type and digest.
func (s *Store) readStates(ctx context.Context, batch []*casRecord) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, c := range batch {
		g.Go(func() error {
			var pos, digest []byte
			var typ string
			err := s.session.Query(s.cql.readState, c.r.Tenant, []byte(c.r.ID), []byte(c.r.Source)).WithContext(gctx).
				Scan(&pos, &typ, &digest)
			switch {
			case errors.Is(err, gocql.ErrNotFound):
				return nil
			case err != nil:
				return err
			}
			c.exists, c.oldPos, c.oldType = true, pos, typ
			c.skip = bytes.Equal(digest, c.digest)
			return nil
		})
	}
	return g.Wait()
}

// casStmt is one statement or one unlogged batch of statements on the same
// partition.
type casStmt struct {
	entries  []gocql.BatchEntry
	cacheKey string // bucket index rows: the bucketCache key
}

func (s *Store) bucketRows(batch []*casRecord, now time.Time) []casStmt {
	var out []casStmt
	seen := map[string]bool{}
	for _, c := range batch {
		for _, scope := range [][]byte{{'t'}, append([]byte{'y'}, c.r.Type...)} {
			k := c.r.Tenant + "\x00" + string(scope) + "\x00" + strconv.FormatInt(c.bucket, 10)
			if seen[k] || !s.buckets.need(k, now) {
				continue
			}
			seen[k] = true
			out = append(out, casStmt{cacheKey: k, entries: []gocql.BatchEntry{{
				Stmt: s.cql.insertBucket, Args: []any{c.r.Tenant, scope, c.bucket, s.buckets.ttl}, Idempotent: true,
			}}})
		}
	}
	return out
}

// listRows groups the by-time and by-type rows by partition into batches.
func (s *Store) listRows(batch []*casRecord) []casStmt {
	type part struct {
		byType bool
		tenant string
		typ    string
		bucket int64
	}
	groups := map[part][]gocql.BatchEntry{}
	var order []part
	add := func(p part, e gocql.BatchEntry) {
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], e)
	}
	ttl := s.ttlSeconds()
	for _, c := range batch {
		add(part{false, c.r.Tenant, "", c.bucket}, gocql.BatchEntry{Stmt: s.cql.insertByTime, Idempotent: true, Args: c.timeArgs(ttl)})
		add(part{true, c.r.Tenant, c.r.Type, c.bucket}, gocql.BatchEntry{Stmt: s.cql.insertByType, Idempotent: true, Args: c.typeArgs(ttl)})
	}
	var out []casStmt
	for _, p := range order {
		out = append(out, chunk(groups[p])...)
	}
	return out
}

// chunk splits one partition's entries into batches within the size bounds.
func chunk(entries []gocql.BatchEntry) []casStmt {
	var out []casStmt
	var cur []gocql.BatchEntry
	size := 0
	for _, e := range entries {
		n := entrySize(e)
		if len(cur) > 0 && (size+n > casBatchBytes || len(cur) == casBatchRows) {
			out = append(out, casStmt{entries: cur})
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, casStmt{entries: cur})
	}
	return out
}

func entrySize(e gocql.BatchEntry) int {
	n := 0
	for _, a := range e.Args {
		switch v := a.(type) {
		case []byte:
			n += len(v)
		case string:
			n += len(v)
		default:
			n += 8
		}
	}
	return n
}

func (s *Store) idRows(batch []*casRecord) []casStmt {
	out := make([]casStmt, 0, len(batch))
	ttl := s.ttlSeconds()
	for _, c := range batch {
		out = append(out, casStmt{entries: []gocql.BatchEntry{{Stmt: s.cql.insertByID, Idempotent: true, Args: c.idArgs(ttl)}}})
	}
	return out
}

// The bound values of a record's three rows (insertByTime, insertByType,
// insertByID), with TTL ttl seconds.
func (c *casRecord) timeArgs(ttl int) []any {
	r := &c.r
	return []any{r.Tenant, c.bucket, c.pos, blob(r.Type), blob(r.Subject), blob(r.SchemaID), blobBytes(r.Event), blobBytes(r.Input),
		r.StoredAt.Unix(), r.StoredAt.Nanosecond(), ttl}
}

func (c *casRecord) typeArgs(ttl int) []any {
	r := &c.r
	return []any{r.Tenant, blob(r.Type), c.bucket, c.pos, blob(r.Subject), blob(r.SchemaID), blobBytes(r.Event), blobBytes(r.Input),
		r.StoredAt.Unix(), r.StoredAt.Nanosecond(), ttl}
}

func (c *casRecord) idArgs(ttl int) []any {
	r := &c.r
	return []any{r.Tenant, []byte(r.ID), blob(r.Source), c.pos, blob(r.Type), blob(r.Subject), blob(r.SchemaID), blobBytes(r.Event), blobBytes(r.Input),
		c.digest, r.StoredAt.Unix(), r.StoredAt.Nanosecond(), ttl}
}

// oldRowDeletes removes the list rows of records that moved: the by-time
// row when the time changed, the by-type row when the time or type did.
func (s *Store) oldRowDeletes(batch []*casRecord) []casStmt {
	var out []casStmt
	for _, c := range batch {
		if !c.exists {
			continue
		}
		moved := !bytes.Equal(c.oldPos, c.pos)
		if !moved && c.oldType == c.r.Type {
			continue
		}
		t, _, err := store.DecodeTimeDesc(c.oldPos)
		if err != nil {
			// A row we cannot place cannot be deleted; the id row now
			// points at the new one.
			s.opts.Logger.Error("cassandra: malformed stored position", "tenant", c.r.Tenant, "source", c.r.Source, "id", c.r.ID)
			continue
		}
		oldBucket := s.bucketOf(t)
		if moved {
			out = append(out, casStmt{entries: []gocql.BatchEntry{{Stmt: s.cql.deleteByTime, Idempotent: true,
				Args: []any{c.r.Tenant, oldBucket, c.oldPos}}}})
		}
		out = append(out, casStmt{entries: []gocql.BatchEntry{{Stmt: s.cql.deleteByType, Idempotent: true,
			Args: []any{c.r.Tenant, blob(c.oldType), oldBucket, c.oldPos}}}})
	}
	return out
}

// exec runs stmts concurrently, each with the Put's write timestamp: a
// single entry as a plain (prepared) statement, more as an unlogged batch,
// which is only ever built for one partition.
func (s *Store) exec(ctx context.Context, stmts []casStmt, ts int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, st := range stmts {
		g.Go(func() error {
			if len(st.entries) == 1 {
				e := st.entries[0]
				return s.session.Query(e.Stmt, e.Args...).WithContext(gctx).WithTimestamp(ts).Idempotent(true).Exec()
			}
			b := s.session.NewBatch(gocql.UnloggedBatch).WithContext(gctx).WithTimestamp(ts)
			b.Entries = st.entries
			return s.session.ExecuteBatch(b)
		})
	}
	return g.Wait()
}

// blob converts s for a blob column: never nil, which gocql would bind as
// null and Cassandra store as a tombstone.
func blob(s string) []byte { return blobBytes([]byte(s)) }

func blobBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
