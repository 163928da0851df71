package pebble

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// maxGroupRecords caps how many records of concurrent Puts one commit joins
// (a single larger Put still commits alone, in one batch).
const maxGroupRecords = 8192

// putRequest is one Put waiting for the writer.
type putRequest struct {
	recs []prepared
	done chan error // buffered: the writer never blocks on a gone caller
}

// prepared is a record encoded by its caller's goroutine, so that the writer
// only looks up and commits.
type prepared struct {
	tenant, source, id, typ string
	idKey                   []byte
	tdesc                   []byte // time↓ of the event time
	body                    []byte
}

// Put upserts recs in one batch committed with the group of Puts waiting at
// the same time.
func (s *Store) Put(ctx context.Context, recs []store.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: put: %w", err)
	}
	req := &putRequest{recs: make([]prepared, len(recs)), done: make(chan error, 1)}
	now := time.Now().UTC()
	for i := range recs {
		if err := prepare(&recs[i], now, &req.recs[i]); err != nil {
			return fmt.Errorf("store: put: %w", err)
		}
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return fmt.Errorf("store: put: %w", ctx.Err())
	}
	select {
	case err := <-req.done:
		if err != nil {
			return fmt.Errorf("store: put %d records: %w", len(recs), err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: put: %w", ctx.Err())
	}
}

// prepare checks r and encodes it into p; r itself is not modified.
func prepare(r *store.Record, now time.Time, p *prepared) error {
	if err := store.CheckRecord(r); err != nil {
		return err
	}
	c := *r
	c.Time = c.Time.UTC()
	if c.StoredAt.IsZero() {
		c.StoredAt = now
	}
	*p = prepared{
		tenant: c.Tenant, source: c.Source, id: c.ID, typ: c.Type,
		idKey: idKey(c.Tenant, c.ID, c.Source),
		tdesc: store.AppendTimeDesc(nil, c.Time),
		body:  encodeBody(&c),
	}
	return nil
}

// writeLoop commits Puts one group at a time: whatever is queued when the
// previous commit ends goes into the next batch, so concurrent callers share
// one WAL sync, and being the only writer makes read-before-write safe.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	var group []*putRequest
	for req := range s.reqs {
		group = append(group[:0], req)
		n := len(req.recs)
	drain:
		for n < maxGroupRecords {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				group = append(group, r)
				n += len(r.recs)
			default:
				break drain
			}
		}
		err := s.commit(group)
		for _, r := range group {
			r.done <- err
		}
		clear(group)
	}
}

// slot is a record's stored state as the group being built sees it.
type slot struct {
	exists bool
	tdesc  []byte
	typ    string
	body   []byte // nil until needed
}

// commit writes a group in one batch. For each record it compares with the
// stored state (the database's, or an earlier record of the group's): equal
// content is skipped, so that redelivery writes nothing and keeps StoredAt;
// new content at the same time and type overwrites the body; a new time or
// type also deletes the old index entries.
func (s *Store) commit(group []*putRequest) error {
	slots, err := s.load(group)
	if err != nil {
		return err
	}
	b := s.db.NewBatchWithSize(batchSize(group))
	defer b.Close()
	for _, req := range group {
		for i := range req.recs {
			if err := s.stage(b, slots[string(req.recs[i].idKey)], &req.recs[i]); err != nil {
				return err
			}
		}
	}
	if b.Empty() {
		return nil
	}
	return b.Commit(s.wo)
}

// batchSize estimates the bytes of a group's batch when every record is
// new (three entries each), so the batch is allocated once instead of
// doubling its way up (Batch.grow was ~2% of the pipeline's CPU).
func batchSize(group []*putRequest) int {
	const perEntry = 16 // kind, varint lengths, slack
	n := 12             // the batch header
	for _, req := range group {
		for i := range req.recs {
			p := &req.recs[i]
			// id entry (key ≈ idKey, value time↓ + type), time entry (key
			// idKey + time↓, value the body), type entry (key idKey + type + time↓).
			n += len(p.body) + 3*len(p.idKey) + 3*len(p.tdesc) + 2*len(p.typ) + 3*perEntry
		}
	}
	return n
}

func (s *Store) stage(b *pebble.Batch, cur *slot, p *prepared) error {
	tk := timeKey(p.tenant, p.tdesc, p.id, p.source)
	if cur.exists && bytes.Equal(cur.tdesc, p.tdesc) && cur.typ == p.typ {
		if cur.body == nil {
			body, err := s.read(tk)
			if err != nil {
				return fmt.Errorf("body of %s %q/%q: %w", p.tenant, p.source, p.id, err)
			}
			cur.body = body
		}
		if sameContent(cur.body, p.body) {
			return nil
		}
		cur.body = p.body
		return b.Set(tk, p.body, nil)
	}
	if cur.exists {
		if err := b.Delete(timeKey(p.tenant, cur.tdesc, p.id, p.source), nil); err != nil {
			return err
		}
		if err := b.Delete(typeKey(p.tenant, cur.typ, cur.tdesc, p.id, p.source), nil); err != nil {
			return err
		}
	}
	*cur = slot{exists: true, tdesc: p.tdesc, typ: p.typ, body: p.body}
	if err := b.Set(p.idKey, encodeIDValue(p.tdesc, p.typ), nil); err != nil {
		return err
	}
	if err := b.Set(tk, p.body, nil); err != nil {
		return err
	}
	return b.Set(typeKey(p.tenant, p.typ, p.tdesc, p.id, p.source), nil, nil)
}

// load reads the stored state of every (tenant, source, id) of the group. One
// iterator seeking through the sorted keys costs about a quarter of as many
// point Gets, and the lookups are most of the writer's own work.
func (s *Store) load(group []*putRequest) (map[string]*slot, error) {
	slots := make(map[string]*slot)
	var keys [][]byte
	for _, req := range group {
		for i := range req.recs {
			k := req.recs[i].idKey
			if _, ok := slots[string(k)]; !ok {
				slots[string(k)] = &slot{}
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for _, k := range keys {
		if !it.SeekPrefixGE(k) || !bytes.Equal(it.Key(), k) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("id entry %q: %w", k, err)
		}
		tdesc, typ, err := decodeIDValue(v)
		if err != nil {
			return nil, fmt.Errorf("id entry %q: %w", k, err)
		}
		*slots[string(k)] = slot{exists: true, tdesc: bytes.Clone(tdesc), typ: string(typ)}
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	return slots, nil
}

// read returns a copy of the value at key.
func (s *Store) read(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}
