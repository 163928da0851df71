package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store keeps processed events. Implementations are safe for concurrent use.
//
// A record's identity is (Tenant, Source, ID), a CloudEvent's: two events
// with the same id from different sources are two records.
type Store interface {
	// Put upserts a batch of records keyed by (Tenant, Source, ID).
	// Re-putting a record whose content (everything but StoredAt) equals the
	// stored one changes nothing, StoredAt included; a record with new content
	// replaces the old one, and when its Time or Type changed it moves in List
	// order. When Put returns nil the whole batch is durable (unless the
	// backend was opened without sync). A batch that names the same (Tenant,
	// Source, ID) twice keeps the last. Put sets StoredAt to the current time
	// when it is zero. A Put that returns a context error may or may not have
	// been applied; retrying it is safe. Put does not keep recs or their Event
	// slices after it returns, so callers may reuse their buffers.
	Put(ctx context.Context, recs []Record) error
	// Get returns the record (tenant, source, id), or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, tenant, source, id string) (Record, error)
	// Lookup returns the tenant's records with this id, whatever their
	// source, in source order (bytes), at most limit of them (0 means
	// DefaultLimit, more than MaxLimit means MaxLimit). No record is an empty
	// result, not an error.
	Lookup(ctx context.Context, tenant, id string, limit int) ([]Record, error)
	// List returns one page of a tenant's records, newest event time first
	// (ties by id, then source, ascending). See Query for the filters.
	List(ctx context.Context, q Query) (Page, error)
	// Close waits for in-flight calls, then releases the store; later calls
	// fail with ErrClosed.
	Close() error
}

// Record is one processed event as stored. It is plain data: the store keeps
// the processed CloudEvent as JSON and copies the attributes it queries by.
type Record struct {
	// Tenant, Source and ID are the record's identity.
	Tenant  string
	Source  string
	ID      string
	Type    string
	Subject string
	// Time is the event time, the List order. The store keeps it in UTC with
	// nanosecond precision. A zero Time sorts oldest and only matches queries
	// without a From bound.
	Time     time.Time
	SchemaID string // e.g. "com.acme.order.created/v1"
	// Event is the processed CloudEvent in structured-mode JSON: data after
	// the rules, plus the processing extensions.
	Event []byte
	// Input is the event's data as it arrived, before the rules (JSON), so
	// that stored history can be replayed through other rules (rules
	// diff). Empty in records stored before the store kept it (backends
	// may return nil or an empty slice for empty).
	Input []byte
	// StoredAt is when the current content was first stored (UTC).
	StoredAt time.Time
}

// Query selects one page of a tenant's records.
type Query struct {
	Tenant string // required
	// Type, when set, keeps only records of exactly this event type (no
	// prefix match: every backend serves it from an index in time order).
	Type string
	// From and To bound the event time: From <= Time < To. A zero bound is
	// open.
	From, To time.Time
	// Cursor continues a previous List of the same query (its NextCursor);
	// empty starts from the newest record.
	Cursor string
	// Limit is the page size: 0 means DefaultLimit, larger than MaxLimit
	// means MaxLimit.
	Limit int
}

// Page is one page of List results.
type Page struct {
	Records []Record
	// NextCursor continues the listing; empty when no record followed this
	// page at the time of the query.
	NextCursor string
}

// Page sizes of List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

var (
	// ErrNotFound is wrapped by Get when the record does not exist.
	ErrNotFound = errors.New("record not found")
	// ErrInvalid is wrapped by every call for a malformed record, key or query
	// (the caller's fault: HTTP 400).
	ErrInvalid = errors.New("invalid argument")
	// ErrInvalidCursor is wrapped by List when the cursor is malformed or was
	// issued for another query.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("store closed")
)

// ValidTenant reports whether s is a tenant id: [a-z0-9][a-z0-9_-]{0,62}.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckRecord reports why r cannot be stored, wrapping ErrInvalid.
func CheckRecord(r *Record) error {
	switch {
	case !ValidTenant(r.Tenant):
		return fmt.Errorf("record %q: tenant %q does not match [a-z0-9][a-z0-9_-]{0,62}: %w", r.ID, r.Tenant, ErrInvalid)
	case r.ID == "":
		return fmt.Errorf("record of tenant %q, source %q: empty id: %w", r.Tenant, r.Source, ErrInvalid)
	case r.Source == "":
		return fmt.Errorf("record %s/%q: empty source: %w", r.Tenant, r.ID, ErrInvalid)
	case r.Type == "":
		return fmt.Errorf("record %s %q/%q: empty type: %w", r.Tenant, r.Source, r.ID, ErrInvalid)
	}
	return nil
}

// CheckGet reports why Get cannot name the record (tenant, source, id),
// wrapping ErrInvalid. Backends call it first.
func CheckGet(tenant, source, id string) error { return checkKey("get", tenant, source, id) }

// CheckLookup reports why Lookup cannot name the records of (tenant, id),
// wrapping ErrInvalid. Backends call it first.
func CheckLookup(tenant, id string) error { return checkKey("lookup", tenant, "", id) }

// checkKey reports why a Get (with a source) or a Lookup (source "") cannot
// name a record, wrapping ErrInvalid.
func checkKey(op, tenant, source, id string) error {
	switch {
	case !ValidTenant(tenant):
		return fmt.Errorf("store: %s %s %q/%q: tenant does not match [a-z0-9][a-z0-9_-]{0,62}: %w", op, tenant, source, id, ErrInvalid)
	case id == "":
		return fmt.Errorf("store: %s %s %q: empty id: %w", op, tenant, source, ErrInvalid)
	case source == "" && op == "get":
		return fmt.Errorf("store: get %s %q: empty source: %w", tenant, id, ErrInvalid)
	}
	return nil
}

// LookupLimit applies Lookup's page size bounds to its limit argument.
func LookupLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// NormalizeQuery checks q and applies the defaults: the page size bounds
// and UTC bounds. Backends call it first; the cursor is left to DecodeCursor.
func NormalizeQuery(q Query) (Query, error) {
	switch {
	case !ValidTenant(q.Tenant):
		return q, fmt.Errorf("query: tenant %q does not match [a-z0-9][a-z0-9_-]{0,62}: %w", q.Tenant, ErrInvalid)
	case q.Limit < 0:
		return q, fmt.Errorf("query: negative limit %d: %w", q.Limit, ErrInvalid)
	case !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From):
		return q, fmt.Errorf("query: to %s is before from %s: %w",
			q.To.Format(time.RFC3339Nano), q.From.Format(time.RFC3339Nano), ErrInvalid)
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit > MaxLimit:
		q.Limit = MaxLimit
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	return q, nil
}
