package store

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"time"
)

// Position is where a page ended: the (Time, ID, Source) of its last
// record. The next page starts strictly after it in List order, so records
// inserted between pages neither shift nor repeat the records already listed.
type Position struct {
	Time   time.Time
	ID     string
	Source string
}

// Cursor layout, before base64url: version, the fingerprint of the query it
// continues, the position's time (seconds, nanoseconds), then its id
// (uvarint length first) and source. Version 1 cursors, issued before
// records were keyed by source, held no source and are refused.
const (
	cursorVersion = 2
	cursorHeader  = 1 + 8 + 8 + 4
)

// EncodeCursor returns the opaque cursor that continues q after p. Backends
// share it so that a cursor means the same thing whatever stores the data.
func EncodeCursor(q Query, p Position) string {
	b := make([]byte, cursorHeader, cursorHeader+binary.MaxVarintLen32+len(p.ID)+len(p.Source))
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:], queryFingerprint(q))
	binary.BigEndian.PutUint64(b[9:], uint64(p.Time.Unix()))
	binary.BigEndian.PutUint32(b[17:], uint32(p.Time.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(p.ID)))
	b = append(b, p.ID...)
	b = append(b, p.Source...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns the position in q.Cursor. It fails, wrapping
// ErrInvalidCursor, when the cursor is malformed or was issued for a query
// with another tenant, type or time range.
func DecodeCursor(q Query) (Position, error) {
	b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	switch {
	case err != nil:
		return Position{}, fmt.Errorf("cursor %.20q: not base64url: %w", q.Cursor, ErrInvalidCursor)
	case len(b) > 0 && b[0] == 1:
		return Position{}, fmt.Errorf("cursor %.20q: issued by an earlier version, before records were keyed by source: list again without it: %w", q.Cursor, ErrInvalidCursor)
	case len(b) <= cursorHeader || b[0] != cursorVersion:
		return Position{}, fmt.Errorf("cursor %.20q: malformed: %w", q.Cursor, ErrInvalidCursor)
	case binary.BigEndian.Uint64(b[1:]) != queryFingerprint(q):
		return Position{}, fmt.Errorf("cursor %.20q: issued for another query: %w", q.Cursor, ErrInvalidCursor)
	}
	nsec := binary.BigEndian.Uint32(b[17:])
	rest := b[cursorHeader:]
	n, w := binary.Uvarint(rest)
	if nsec >= 1e9 || w <= 0 || n > uint64(len(rest)-w) {
		return Position{}, fmt.Errorf("cursor %.20q: malformed position: %w", q.Cursor, ErrInvalidCursor)
	}
	sec := int64(binary.BigEndian.Uint64(b[9:]))
	return Position{
		Time:   time.Unix(sec, int64(nsec)).UTC(),
		ID:     string(rest[w : w+int(n)]),
		Source: string(rest[w+int(n):]),
	}, nil
}

// queryFingerprint identifies the filters a cursor belongs to (not the page
// size, which may change between pages).
func queryFingerprint(q Query) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	bound := func(t time.Time) {
		if t.IsZero() {
			field("")
			return
		}
		field(t.UTC().Format(time.RFC3339Nano))
	}
	field(q.Tenant)
	field(q.Type)
	bound(q.From)
	bound(q.To)
	return h.Sum64()
}
