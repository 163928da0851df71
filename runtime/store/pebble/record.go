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
//	                   (version 2) uvarint-prefixed Input,
//	                   (version 3) Input as a delta against Event (inputDelta),
//	                   then Event
//	idValue (key 'I'): version, time↓ of the body key, then Type
//
// Version 2 added Input. A record without Input is still written as
// version 1, byte for byte what it was before Input existed, so that
// re-putting it finds the same content. Version 3 writes Input as a delta
// when the processed event holds most of it (the rules change a few
// fields): a record is then ~1.5 KB instead of ~2.2 KB, and every byte
// saved is saved again in the WAL, the memtable and the blob files.
const (
	bodyVersion    = 2
	bodyVersion1   = 1
	bodyVersion3   = 3
	bodyStoredAt   = 1  // offset of StoredAt
	bodyContent    = 13 // offset of what follows StoredAt
	idValueVersion = 1
)

var errBadValue = errors.New("malformed value")

func encodeBody(r *store.Record) []byte {
	n := bodyContent + 9*binary.MaxVarintLen32 + len(r.Type) + len(r.Source) +
		len(r.Subject) + len(r.SchemaID) + len(r.Input) + len(r.Event)
	b := make([]byte, bodyContent, n)
	d, delta := inputDelta(r.Input, r.Event)
	switch {
	case len(r.Input) == 0:
		b[0] = bodyVersion1
	case delta:
		b[0] = bodyVersion3
	default:
		b[0] = bodyVersion
	}
	binary.BigEndian.PutUint64(b[bodyStoredAt:], uint64(r.StoredAt.Unix()))
	binary.BigEndian.PutUint32(b[bodyStoredAt+8:], uint32(r.StoredAt.Nanosecond()))
	for _, s := range [...]string{r.Type, r.Source, r.Subject, r.SchemaID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	switch b[0] {
	case bodyVersion:
		b = binary.AppendUvarint(b, uint64(len(r.Input)))
		b = append(b, r.Input...)
	case bodyVersion3:
		b = d.append(b)
	}
	return append(b, r.Event...)
}

// delta is Input as three parts: Event[headAt:headAt+head], then mid, then
// the tail bytes of Event that end at tailEnd.
type delta struct {
	headAt, head  int
	mid           []byte
	tailEnd, tail int
}

// deltaProbe is how many bytes of Input's start and end are looked up in
// Event; deltaMinSaved is the least a delta must save to be written.
const (
	deltaProbe    = 16
	deltaMinSaved = 64
)

// inputDelta finds the longest head of in that appears in ev where in's
// first bytes do, and the longest tail of the rest that ends where in's
// last bytes last appear; ok is false when that saves too little (data
// that arrived with other spacing or member order than the rules write
// it, or no Input at all).
func inputDelta(in, ev []byte) (d delta, ok bool) {
	if len(in) < 2*deltaProbe {
		return d, false
	}
	at := bytes.Index(ev, in[:deltaProbe])
	if at < 0 {
		return d, false
	}
	d.headAt, d.head = at, commonPrefix(in, ev[at:])
	rest := in[d.head:]
	if len(rest) >= deltaProbe {
		if e := bytes.LastIndex(ev, rest[len(rest)-deltaProbe:]); e >= 0 {
			d.tailEnd = e + deltaProbe
			d.tail = commonSuffix(rest, ev[:d.tailEnd])
		}
	}
	d.mid = rest[:len(rest)-d.tail]
	return d, d.head+d.tail >= deltaMinSaved
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

func (d delta) append(b []byte) []byte {
	for _, v := range [...]int{d.headAt, d.head} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.AppendUvarint(b, uint64(len(d.mid)))
	b = append(b, d.mid...)
	for _, v := range [...]int{d.tailEnd, d.tail} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

// readDelta splits a delta off b and rebuilds Input from it and ev, which
// is what follows the delta.
func readDelta(b []byte) (input, ev []byte, err error) {
	var d delta
	var nums [4]uint64
	for i := range nums {
		if i == 2 {
			if d.mid, b, err = uvarintField(b); err != nil {
				return nil, nil, err
			}
		}
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)) {
			return nil, nil, errBadValue
		}
		nums[i], b = n, b[w:]
	}
	ev = b
	headAt, head, tailEnd, tail := nums[0], nums[1], nums[2], nums[3]
	if headAt > uint64(len(ev)) || head > uint64(len(ev))-headAt || tailEnd > uint64(len(ev)) || tail > tailEnd {
		return nil, nil, errBadValue
	}
	input = make([]byte, 0, head+uint64(len(d.mid))+tail)
	input = append(input, ev[headAt:headAt+head]...)
	input = append(input, d.mid...)
	input = append(input, ev[tailEnd-tail:tailEnd]...)
	return input, ev, nil
}

// knownBody reports whether b is long enough for a body and of a version
// this package reads.
func knownBody(b []byte) bool {
	return len(b) >= bodyContent && (b[0] == bodyVersion || b[0] == bodyVersion1 || b[0] == bodyVersion3)
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
	switch b[0] {
	case bodyVersion:
		f, next, err := uvarintField(rest)
		if err != nil {
			return err
		}
		r.Input, rest = bytes.Clone(f), next
	case bodyVersion3:
		in, ev, err := readDelta(rest)
		if err != nil {
			return err
		}
		r.Input, rest = in, ev
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

// sameContent reports whether two bodies differ at most in StoredAt, also
// when one was written in another version (a record stored before its
// input was kept as a delta, delivered again after the upgrade).
func sameContent(a, b []byte) bool {
	if len(a) < bodyContent || len(b) < bodyContent {
		return false
	}
	if a[0] == b[0] {
		return bytes.Equal(a[bodyContent:], b[bodyContent:])
	}
	var ra, rb store.Record
	if decodeBody(a, &ra) != nil || decodeBody(b, &rb) != nil {
		return false
	}
	return ra.Type == rb.Type && ra.Source == rb.Source && ra.Subject == rb.Subject && ra.SchemaID == rb.SchemaID &&
		bytes.Equal(ra.Input, rb.Input) && bytes.Equal(ra.Event, rb.Event)
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
