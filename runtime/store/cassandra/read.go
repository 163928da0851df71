package cassandra

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gocql/gocql"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// Get returns the record (tenant, source, id) from the id table.
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
	iter := s.session.Query(s.cql.getByID, tenant, []byte(id), []byte(source)).WithContext(ctx).Iter()
	recs, err := scanIDRows(iter, tenant, 1)
	if err == nil && len(recs) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("store: get %s %q/%q: %w", tenant, source, id, err)
	}
	return recs[0], nil
}

// Lookup returns the records (tenant, *, id): one partition of the id table,
// clustered by source.
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
	limit = store.LookupLimit(limit)
	iter := s.session.Query(s.cql.lookupByID, tenant, []byte(id), limit).WithContext(ctx).PageSize(min(limit, 100)).Iter()
	recs, err := scanIDRows(iter, tenant, limit)
	if err != nil {
		return nil, fmt.Errorf("store: lookup %s %q: %w", tenant, id, err)
	}
	return recs, nil
}

// scanIDRows reads up to limit rows of getByID or lookupByID and closes iter.
func scanIDRows(iter *gocql.Iter, tenant string, limit int) ([]store.Record, error) {
	var recs []store.Record
	for len(recs) < limit {
		r := store.Record{Tenant: tenant}
		var pos []byte
		var storedS int64
		var storedNs int
		if !iter.Scan(&r.Source, &pos, &r.Type, &r.Subject, &r.SchemaID, &r.Event, &r.Input, &storedS, &storedNs) {
			break
		}
		if err := setPosition(&r, pos); err != nil {
			iter.Close()
			return nil, err
		}
		r.StoredAt = time.Unix(storedS, int64(storedNs)).UTC()
		recs = append(recs, r)
	}
	return recs, iter.Close()
}

// setPosition fills r's Time, ID and Source from a pos column (casPos).
func setPosition(r *store.Record, pos []byte) error {
	p, err := store.DecodePosition(pos)
	if err != nil {
		return fmt.Errorf("stored position %x: %w", pos, err)
	}
	r.Time, r.ID, r.Source = p.Time, p.ID, p.Source
	return nil
}

// casSpan is a query's slice of the list tables: pos bounds (an empty
// operator means unbounded) and the bucket range that can hold it.
type casSpan struct {
	lower, upper         []byte
	lowerOp, upperOp     string
	minBucket, maxBucket int64
	empty                bool
}

// span turns the bounds and cursor into pos bounds, like the Pebble
// backend's keys: time < To is pos >= Successor(To↓), time >= From is
// pos < Successor(From↓), and the cursor is pos > its position.
func (s *Store) span(q store.Query) (casSpan, error) {
	sp := casSpan{minBucket: math.MinInt64, maxBucket: math.MaxInt64}
	if !q.To.IsZero() {
		next := store.Successor(store.AppendTimeDesc(nil, q.To))
		if next == nil {
			return casSpan{empty: true}, nil
		}
		sp.lower, sp.lowerOp, sp.maxBucket = next, ">=", s.bucketOf(q.To)
	}
	if !q.From.IsZero() {
		if next := store.Successor(store.AppendTimeDesc(nil, q.From)); next != nil {
			sp.upper, sp.upperOp = next, "<"
		}
		sp.minBucket = s.bucketOf(q.From)
	}
	if q.Cursor != "" {
		p, err := store.DecodeCursor(q)
		if err != nil {
			return casSpan{}, err
		}
		k := casPos(p.Time, p.ID, p.Source)
		if sp.lower == nil || bytes.Compare(k, sp.lower) >= 0 {
			sp.lower, sp.lowerOp = k, ">"
		}
		sp.maxBucket = min(sp.maxBucket, s.bucketOf(p.Time))
	}
	sp.empty = sp.minBucket > sp.maxBucket || (sp.lower != nil && sp.upper != nil && bytes.Compare(sp.lower, sp.upper) >= 0)
	return sp, nil
}

// List walks the tenant's non-empty buckets newest first and reads each
// bucket's slice until the page, plus one record to know whether another
// page follows, is full.
func (s *Store) List(ctx context.Context, q store.Query) (store.Page, error) {
	q, err := store.NormalizeQuery(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("store: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Page{}, fmt.Errorf("store: list %s: %w", q.Tenant, err)
	}
	sp, err := s.span(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("store: list %s: %w", q.Tenant, err)
	}
	if err := s.enter(); err != nil {
		return store.Page{}, err
	}
	defer s.mu.RUnlock()
	var page store.Page
	if sp.empty {
		return page, nil
	}
	recs, err := s.scan(ctx, q, sp)
	if err != nil {
		return store.Page{}, fmt.Errorf("store: list %s: %w", q.Tenant, err)
	}
	if len(recs) > q.Limit {
		recs = recs[:q.Limit]
		last := recs[len(recs)-1]
		page.NextCursor = store.EncodeCursor(q, store.Position{Time: last.Time, ID: last.ID, Source: last.Source})
	}
	page.Records = recs
	return page, nil
}

func (s *Store) scan(ctx context.Context, q store.Query, sp casSpan) ([]store.Record, error) {
	scope := []byte{'t'}
	if q.Type != "" {
		scope = append([]byte{'y'}, q.Type...)
	}
	need := q.Limit + 1
	var recs []store.Record
	buckets := s.session.Query(s.cql.listBuckets, q.Tenant, scope, sp.minBucket, sp.maxBucket).
		WithContext(ctx).PageSize(64).Iter()
	var bucket int64
	for len(recs) < need && buckets.Scan(&bucket) {
		var err error
		if recs, err = s.scanBucket(ctx, q, sp, bucket, recs, need); err != nil {
			buckets.Close()
			return nil, fmt.Errorf("bucket %d: %w", bucket, err)
		}
	}
	if err := buckets.Close(); err != nil {
		return nil, fmt.Errorf("bucket index: %w", err)
	}
	return recs, nil
}

// scanBucket appends the records of one bucket's slice to recs, up to need,
// reading in pages of at most 100 rows (events may be large).
func (s *Store) scanBucket(ctx context.Context, q store.Query, sp casSpan, bucket int64, recs []store.Record, need int) ([]store.Record, error) {
	byType := q.Type != ""
	args := []any{q.Tenant}
	if byType {
		args = append(args, []byte(q.Type))
	}
	args = append(args, bucket)
	if sp.lowerOp != "" {
		args = append(args, sp.lower)
	}
	if sp.upperOp != "" {
		args = append(args, sp.upper)
	}
	args = append(args, need-len(recs))
	iter := s.session.Query(s.cql.listRows(byType, sp.lowerOp, sp.upperOp), args...).
		WithContext(ctx).PageSize(min(need-len(recs), 100)).Iter()
	for len(recs) < need {
		r := store.Record{Tenant: q.Tenant, Type: q.Type}
		var pos []byte
		var storedS int64
		var storedNs int
		dest := []any{&pos, &r.Subject, &r.SchemaID, &r.Event, &r.Input, &storedS, &storedNs}
		if !byType {
			dest = append([]any{&pos, &r.Type}, dest[1:]...)
		}
		if !iter.Scan(dest...) {
			break
		}
		if err := setPosition(&r, pos); err != nil {
			iter.Close()
			return nil, err
		}
		r.StoredAt = time.Unix(storedS, int64(storedNs)).UTC()
		recs = append(recs, r)
	}
	return recs, iter.Close()
}
