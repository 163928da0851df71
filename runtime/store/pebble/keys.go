package pebble

import (
	"errors"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
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
// and terminated (store.AppendString) so that no two (tenant, id, source)
// triples share a key, a tenant's span never contains another tenant's keys,
// and byte order equals string order. time↓ is the event time inverted
// (store.AppendTimeDesc) so that ascending keys mean newest first; a 'T' or
// 'Y' key ends with the record's store.AppendPosition.
//
// Layout 1 (before records were keyed by source) had 'i' tenant id, 't'
// tenant time↓ id and 'y' tenant type time↓ id, and no 'm' key; Open
// rewrites such a store into layout 2 (migrate.go).
const (
	nsByID   byte = 'I'
	nsByTime byte = 'T'
	nsByType byte = 'Y'
	nsMeta   byte = 'm'
)

var errBadKey = errors.New("malformed key")

// tenantPrefix is the start of a tenant's span in keyspace ns.
func tenantPrefix(ns byte, tenant string) []byte {
	return store.AppendString([]byte{ns}, tenant)
}

func idKey(tenant, id, source string) []byte {
	k := make([]byte, 0, 1+len(tenant)+len(id)+len(source)+8)
	return store.AppendString(store.AppendString(store.AppendString(append(k, nsByID), tenant), id), source)
}

// idPrefix is the span of a tenant's records with this id, any source.
func idPrefix(tenant, id string) []byte {
	return store.AppendString(tenantPrefix(nsByID, tenant), id)
}

// timeKey is the body's key; tdesc is store.AppendTimeDesc of the event time.
func timeKey(tenant string, tdesc []byte, id, source string) []byte {
	k := make([]byte, 0, 1+len(tenant)+store.TimeDescLen+len(id)+len(source)+8)
	k = store.AppendString(append(k, nsByTime), tenant)
	k = append(k, tdesc...)
	return store.AppendString(store.AppendString(k, id), source)
}

func typeKey(tenant, typ string, tdesc []byte, id, source string) []byte {
	k := make([]byte, 0, 1+len(tenant)+len(typ)+store.TimeDescLen+len(id)+len(source)+10)
	k = store.AppendString(store.AppendString(append(k, nsByType), tenant), typ)
	k = append(k, tdesc...)
	return store.AppendString(store.AppendString(k, id), source)
}

// parseTimeID decodes the time and id of a "time↓ id source" suffix and
// returns the encoded source that follows.
func parseTimeID(b []byte) (time.Time, string, []byte, error) {
	t, rest, err := store.DecodeTimeDesc(b)
	if err != nil {
		return time.Time{}, "", nil, err
	}
	id, rest, err := store.DecodeString(rest)
	if err != nil {
		return time.Time{}, "", nil, errBadKey
	}
	return t, id, rest, nil
}
