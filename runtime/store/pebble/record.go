package pebble

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// Value encodings of the Pebble backend. Both start with a format version
// byte so that a later layout can be read beside this one. Key layout 2
// kept layout 1's values as they were.
//
//	body    (key 'T'): version, StoredAt (seconds int64, nanoseconds uint32),
//	                   uvarint-prefixed Type, Source, Subject, SchemaID,
//	                   (version 2) uvarint-prefixed Input, then Event
//	idValue (key 'I'): version, time↓ of the body key, then Type
//
// Version 2 added Input. A record without Input is still written as
// version 1, byte for byte what it was before Input existed, so that
// re-putting it finds the same content.
const (
	bodyVersion    = 2
	bodyVersion1   = 1
	bodyStoredAt   = 1  // offset of StoredAt
	bodyContent    = 13 // offset of what follows StoredAt
	idValueVersion = 1
)

var errBadValue = errors.New("malformed value")

func encodeBody(r *store.Record) []byte {
	n := bodyContent + 5*binary.MaxVarintLen32 + len(r.Type) + len(r.Source) +
		len(r.Subject) + len(r.SchemaID) + len(r.Input) + len(r.Event)
	b := make([]byte, bodyContent, n)
	b[0] = bodyVersion
	if len(r.Input) == 0 {
		b[0] = bodyVersion1
	}
	binary.BigEndian.PutUint64(b[bodyStoredAt:], uint64(r.StoredAt.Unix()))
	binary.BigEndian.PutUint32(b[bodyStoredAt+8:], uint32(r.StoredAt.Nanosecond()))
	for _, s := range [...]string{r.Type, r.Source, r.Subject, r.SchemaID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if b[0] == bodyVersion {
		b = binary.AppendUvarint(b, uint64(len(r.Input)))
		b = append(b, r.Input...)
	}
	return append(b, r.Event...)
}

// knownBody reports whether b is long enough for a body and of a version
// this package reads.
func knownBody(b []byte) bool {
	return len(b) >= bodyContent && (b[0] == bodyVersion || b[0] == bodyVersion1)
}

// uvarintField splits off one uvarint-prefixed field.
func uvarintField(b []byte) (field, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, errBadValue
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

// decodeBody fills the fields of r that the body holds; Event is copied, so
// b may be reused afterwards.
func decodeBody(b []byte, r *store.Record) error {
	if !knownBody(b) {
		return errBadValue
	}
	sec := int64(binary.BigEndian.Uint64(b[bodyStoredAt:]))
	nsec := binary.BigEndian.Uint32(b[bodyStoredAt+8:])
	r.StoredAt = time.Unix(sec, int64(nsec)).UTC()
	rest := b[bodyContent:]
	for _, dst := range [...]*string{&r.Type, &r.Source, &r.Subject, &r.SchemaID} {
		f, next, err := uvarintField(rest)
		if err != nil {
			return err
		}
		*dst, rest = string(f), next
	}
	r.Input = nil
	if b[0] == bodyVersion {
		f, next, err := uvarintField(rest)
		if err != nil {
			return err
		}
		r.Input, rest = bytes.Clone(f), next
	}
	r.Event = bytes.Clone(rest)
	return nil
}

// bodyTypeSource returns the Type and Source of a body.
func bodyTypeSource(b []byte) (typ, source string, err error) {
	if !knownBody(b) {
		return "", "", errBadValue
	}
	t, rest, err := uvarintField(b[bodyContent:])
	if err != nil {
		return "", "", err
	}
	src, _, err := uvarintField(rest)
	if err != nil {
		return "", "", err
	}
	return string(t), string(src), nil
}

// sameContent reports whether two bodies differ at most in StoredAt.
func sameContent(a, b []byte) bool {
	return len(a) >= bodyContent && len(b) >= bodyContent &&
		a[0] == b[0] && bytes.Equal(a[bodyContent:], b[bodyContent:])
}

func encodeIDValue(tdesc []byte, typ string) []byte {
	b := make([]byte, 0, 1+store.TimeDescLen+len(typ))
	b = append(b, idValueVersion)
	b = append(b, tdesc...)
	return append(b, typ...)
}

// decodeIDValue returns the body's time↓ and the record's type; both alias v.
func decodeIDValue(v []byte) (tdesc []byte, typ []byte, err error) {
	if len(v) < 1+store.TimeDescLen || v[0] != idValueVersion {
		return nil, nil, errBadValue
	}
	return v[1 : 1+store.TimeDescLen], v[1+store.TimeDescLen:], nil
}
