package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// The byte encodings of List order that the backends sort by: the Pebble
// backend builds its keys from them and the Cassandra backend its pos
// clustering column (AppendPosition), so that both order records, and bound
// a page, alike. Strings are escaped and terminated (see AppendString) so
// that byte order equals string order and no encoding is a prefix of
// another; times are inverted (AppendTimeDesc) so that ascending bytes mean
// newest first.

// TimeDescLen is the length of AppendTimeDesc's encoding.
const TimeDescLen = 12

var errBadKey = errors.New("malformed key")

// AppendString appends s escaped and terminated: 0x00 becomes 0x00 0xFF and
// the string ends with 0x00 0x01. The encoding is self-delimiting and keeps
// lexicographic order, because the terminator sorts below every escaped byte.
func AppendString(dst []byte, s string) []byte {
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

// DecodeString reverses AppendString, returning the string and what follows
// its terminator.
func DecodeString(b []byte) (string, []byte, error) {
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

// AppendTimeDesc appends t so that later times sort first: the seconds with
// the sign bit flipped (so that unsigned order is signed order), then the
// nanoseconds, both inverted, big-endian.
func AppendTimeDesc(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, ^(uint64(t.Unix()) ^ 1<<63))
	return binary.BigEndian.AppendUint32(dst, ^uint32(t.Nanosecond()))
}

// DecodeTimeDesc reverses AppendTimeDesc, returning the time (UTC) and the
// bytes that follow it.
func DecodeTimeDesc(b []byte) (time.Time, []byte, error) {
	if len(b) < TimeDescLen {
		return time.Time{}, nil, errBadKey
	}
	sec := int64(^binary.BigEndian.Uint64(b) ^ 1<<63)
	nsec := ^binary.BigEndian.Uint32(b[8:])
	if nsec >= 1e9 {
		return time.Time{}, nil, errBadKey
	}
	return time.Unix(sec, int64(nsec)).UTC(), b[TimeDescLen:], nil
}

// AppendPosition appends p in List order: time↓, then the id and the source
// escaped and terminated.
func AppendPosition(dst []byte, p Position) []byte {
	return AppendString(AppendString(AppendTimeDesc(dst, p.Time), p.ID), p.Source)
}

// DecodePosition reverses AppendPosition; b must hold nothing else.
func DecodePosition(b []byte) (Position, error) {
	t, rest, err := DecodeTimeDesc(b)
	if err != nil {
		return Position{}, err
	}
	id, rest, err := DecodeString(rest)
	if err != nil {
		return Position{}, errBadKey
	}
	source, rest, err := DecodeString(rest)
	if err != nil || len(rest) != 0 {
		return Position{}, errBadKey
	}
	return Position{Time: t, ID: id, Source: source}, nil
}

// Successor returns the smallest byte string greater than every string with
// prefix p, or nil when there is none (p is all 0xFF).
func Successor(p []byte) []byte {
	out := append([]byte(nil), p...)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] != 0xFF {
			out[i]++
			return out[:i+1]
		}
	}
	return nil
}
