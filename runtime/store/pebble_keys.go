package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// Pebble key layout. Each keyspace starts with one byte, then the tenant, so
// that a tenant's entries of a keyspace are one contiguous span:
//
//	'i' tenant id                → idValue: where the record's body lives
//	't' tenant time↓ id          → the record body (List without type)
//	'y' tenant type time↓ id     → empty (List by type; bodies read via 't')
//
// Strings are escaped and terminated (see appendString) so that no two
// (tenant, id) pairs share a key, a tenant's span never contains another
// tenant's keys, and byte order equals string order. time↓ is the event time
// inverted (timeDescLen bytes) so that ascending keys mean newest first.
const (
	nsByID   byte = 'i'
	nsByTime byte = 't'
	nsByType byte = 'y'

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

func idKey(tenant, id string) []byte {
	return appendString(tenantPrefix(nsByID, tenant), id)
}

// timeKey is the body's key; tdesc is appendTimeDesc of the event time.
func timeKey(tenant string, tdesc []byte, id string) []byte {
	k := append(tenantPrefix(nsByTime, tenant), tdesc...)
	return appendString(k, id)
}

func typeKey(tenant, typ string, tdesc []byte, id string) []byte {
	k := append(appendString(tenantPrefix(nsByType, tenant), typ), tdesc...)
	return appendString(k, id)
}

// parseTimeSuffix splits the "time↓ id" end of a 't' or 'y' key whose prefix
// (keyspace, tenant, type) has been removed.
func parseTimeSuffix(b []byte) (time.Time, string, error) {
	t, rest, err := decodeTimeDesc(b)
	if err != nil {
		return time.Time{}, "", err
	}
	id, rest, err := decodeString(rest)
	if err != nil || len(rest) != 0 {
		return time.Time{}, "", errBadKey
	}
	return t, id, nil
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
