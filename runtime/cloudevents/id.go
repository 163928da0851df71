package cloudevents

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// NewID returns a UUIDv7 (RFC 9562): time-ordered, so ids of wrapped raw
// events sort by arrival, and random enough to never collide.
func NewID() string {
	var entropy [10]byte
	_, _ = rand.Read(entropy[:])
	return IDFrom(time.Now(), entropy)
}

// IDFrom returns the UUIDv7 of time t with the given 80 bits of entropy
// (of which the version and variant take 6): with entropy derived from a
// stream position, the same message always gets the same id.
func IDFrom(t time.Time, entropy [10]byte) string {
	var u [16]byte
	copy(u[6:], entropy[:])
	binary.BigEndian.PutUint64(u[0:8], uint64(t.UnixMilli())<<16|uint64(binary.BigEndian.Uint16(u[6:8])))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// SetAttribute sets a context attribute given as a string, as the binary
// modes of the HTTP and NATS bindings carry them; an unknown name becomes a
// string extension. The value is kept byte for byte, invalid UTF-8
// included, for Check to refuse.
func (e *Event) SetAttribute(name, v string) {
	switch name {
	case "specversion":
		e.SpecVersion = v
	case "id":
		e.ID = v
	case "source":
		e.Source = v
	case "type":
		e.Type = v
	case "subject":
		e.Subject = v
	case "time":
		e.Time = v
	case "datacontenttype":
		e.DataContentType = v
	case "dataschema":
		e.DataSchema = v
	case "tenantid":
		e.TenantID = v
	default:
		if e.Extensions == nil {
			e.Extensions = map[string]json.RawMessage{}
		}
		e.Extensions[name] = appendStringVerbatim(make([]byte, 0, len(v)+2), v)
	}
}
