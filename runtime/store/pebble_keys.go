package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// Pebble key layout (layout 2). Each keyspace starts with one byte, then
// the tenant, so that a tenant's entries of a keyspace are one contiguous
// span:
//
//	'I' tenant id source           → idValue: where the record's body lives
//	'T' tenant time↓ id source     → the record body (List without type)
//	'Y' tenant type time↓ id source → empty (List by type; bodies read via 'T')
//	'm' "layout"                   → the layout version (one byte)
//
// A record is (tenant, source, id); the id comes before the source in 'I' so
// that the records sharing an id (Lookup) are one span. Strings are escaped
// and terminated (see appendString) so that no two (tenant, id, source)
// triples share a key, a tenant's span never contains another tenant's keys,
// and byte order equals string order. time↓ is the event time inverted
// (timeDescLen bytes) so that ascending keys mean newest first.
//
// Layout 1 (before records were keyed by source) had 'i' tenant id, 't'
// tenant time↓ id and 'y' tenant type time↓ id, and no 'm' key; OpenPebble
// rewrites such a store into layout 2 (pebble_migrate.go).
const (
	nsByID   byte = 'I'
	nsByTime byte = 'T'
	nsByType byte = 'Y'
	nsMeta   byte = 'm'

	timeDescLen = 12
)

var errBadKey = errors.New("malformed key")

// appendString appends s escaped and terminated: 0x00 becomes 0x00 0xFF and
// the string ends with 0x00 0x01. The encoding is self-delimiting and keeps
// lexicographic order, because the terminator sorts below every escaped byte.
func appendString(dst []byte, s string) []byte {
	for {
		i := indexZero(s)
		if i < 0 {
			break
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, 0x00, 0xFF)
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, 0x00, 0x01)
}

func indexZero(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}

// decodeString reverses appendString, returning the string and what follows
// its terminator.
func decodeString(b []byte) (string, []byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0x00 {
			continue
		}
		if i+1 >= len(b) {
			return "", nil, errBadKey
		}
		switch b[i+1] {
		case 0x01:
			if out == nil {
				return string(b[:i]), b[i+2:], nil
			}
			return string(append(out, b[:i]...)), b[i+2:], nil
		case 0xFF:
			out = append(out, b[:i+1]...)
			b = b[i+2:]
			i = -1
		default:
			return "", nil, errBadKey
		}
	}
	return "", nil, errBadKey
}

// appendTimeDesc appends t so that later times sort first: the seconds with
// the sign bit flipped (so that unsigned order is signed order), then the
// nanoseconds, both inverted, big-endian.
func appendTimeDesc(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, ^(uint64(t.Unix()) ^ 1<<63))
	return binary.BigEndian.AppendUint32(dst, ^uint32(t.Nanosecond()))
}

func decodeTimeDesc(b []byte) (time.Time, []byte, error) {
	if len(b) < timeDescLen {
		return time.Time{}, nil, errBadKey
	}
	sec := int64(^binary.BigEndian.Uint64(b) ^ 1<<63)
	nsec := ^binary.BigEndian.Uint32(b[8:])
	if nsec >= 1e9 {
		return time.Time{}, nil, errBadKey
	}
	return time.Unix(sec, int64(nsec)).UTC(), b[timeDescLen:], nil
}

// tenantPrefix is the start of a tenant's span in keyspace ns.
func tenantPrefix(ns byte, tenant string) []byte {
	return appendString([]byte{ns}, tenant)
}

func idKey(tenant, id, source string) []byte {
	k := make([]byte, 0, 1+len(tenant)+len(id)+len(source)+8)
	return appendString(appendString(appendString(append(k, nsByID), tenant), id), source)
}

// idPrefix is the span of a tenant's records with this id, any source.
func idPrefix(tenant, id string) []byte {
	return appendString(tenantPrefix(nsByID, tenant), id)
}

// timeKey is the body's key; tdesc is appendTimeDesc of the event time.
func timeKey(tenant string, tdesc []byte, id, source string) []byte {
	k := make([]byte, 0, 1+len(tenant)+timeDescLen+len(id)+len(source)+8)
	k = appendString(append(k, nsByTime), tenant)
	k = append(k, tdesc...)
	return appendString(appendString(k, id), source)
}

func typeKey(tenant, typ string, tdesc []byte, id, source string) []byte {
	k := make([]byte, 0, 1+len(tenant)+len(typ)+timeDescLen+len(id)+len(source)+10)
	k = appendString(appendString(append(k, nsByType), tenant), typ)
	k = append(k, tdesc...)
	return appendString(appendString(k, id), source)
}

// parseTimeSuffix splits the "time↓ id source" end of a 'T' or 'Y' key
// whose prefix (keyspace, tenant, type) has been removed.
func parseTimeSuffix(b []byte) (time.Time, string, string, error) {
	t, id, rest, err := parseTimeID(b)
	if err != nil {
		return time.Time{}, "", "", err
	}
	source, rest, err := decodeString(rest)
	if err != nil || len(rest) != 0 {
		return time.Time{}, "", "", errBadKey
	}
	return t, id, source, nil
}

// parseTimeID decodes the time and id of a "time↓ id source" suffix and
// returns the encoded source that follows.
func parseTimeID(b []byte) (time.Time, string, []byte, error) {
	t, rest, err := decodeTimeDesc(b)
	if err != nil {
		return time.Time{}, "", nil, err
	}
	id, rest, err := decodeString(rest)
	if err != nil {
		return time.Time{}, "", nil, errBadKey
	}
	return t, id, rest, nil
}

// successor returns the smallest byte string greater than every string with
// prefix p, or nil when there is none (p is all 0xFF).
func successor(p []byte) []byte {
	out := append([]byte(nil), p...)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] != 0xFF {
			out[i]++
			return out[:i+1]
		}
	}
	return nil
}
