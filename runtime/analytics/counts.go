package analytics

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CountQuery selects a tenant's event counts over [From, To) in Step slots.
type CountQuery struct {
	Tenant string
	// Type, when set, counts only that event type (exact match).
	Type     string
	From, To time.Time
	// Step is the slot width: a whole number of minutes, the rollup's grain.
	Step time.Duration
}

// Count is the number of distinct events whose time falls in
// [Time, Time+Step).
type Count struct {
	Time  time.Time `json:"time"`
	Count uint64    `json:"count"`
}

// MaxSlots bounds the slots of one CountQuery.
const MaxSlots = 10000

// ErrInvalidQuery is wrapped by Counts for a malformed query.
var ErrInvalidQuery = errors.New("invalid count query")

// Check reports what is wrong with q: From and To must be whole minutes,
// From < To, and Step a positive whole number of minutes giving at most
// MaxSlots slots.
func (q CountQuery) Check() error {
	switch {
	case q.Tenant == "":
		return fmt.Errorf("no tenant: %w", ErrInvalidQuery)
	case q.Step < time.Minute || q.Step%time.Minute != 0:
		return fmt.Errorf("step %v: must be a whole number of minutes: %w", q.Step, ErrInvalidQuery)
	case !q.From.Equal(q.From.Truncate(time.Minute)) || !q.To.Equal(q.To.Truncate(time.Minute)):
		return fmt.Errorf("from and to must be whole minutes: %w", ErrInvalidQuery)
	case !q.From.Before(q.To):
		return fmt.Errorf("from %s is not before to %s: %w", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), ErrInvalidQuery)
	case q.From.Before(minDateTime) || q.To.After(maxDateTime):
		return fmt.Errorf("times must lie between %s and %s: %w", minDateTime.Format(time.RFC3339), maxDateTime.Format(time.RFC3339), ErrInvalidQuery)
	case (q.To.Sub(q.From)+q.Step-1)/q.Step > MaxSlots:
		return fmt.Errorf("more than %d slots of %v: %w", MaxSlots, q.Step, ErrInvalidQuery)
	}
	return nil
}

// Counts returns one Count per slot from From (empty slots included), read
// from the per-minute rollup: uniqExactMerge of the id sets, so that
// replayed rows count once, merged or not.
func (s *Store) Counts(ctx context.Context, q CountQuery) ([]Count, error) {
	if err := q.Check(); err != nil {
		return nil, fmt.Errorf("analytics: counts: %w", err)
	}
	from, to, step := q.From.Unix(), q.To.Unix(), int64(q.Step/time.Second)
	stmt := "SELECT intDiv(toInt64(toUInt32(minute)) - ?, ?) AS slot, uniqExactMerge(ids) FROM " +
		quoteIdent(s.db) + "." + PerMinuteTable +
		" WHERE tenant = ? AND minute >= toDateTime(?) AND minute < toDateTime(?)"
	args := []any{from, step, q.Tenant, from, to}
	if q.Type != "" {
		stmt += " AND type = ?"
		args = append(args, q.Type)
	}
	stmt += " GROUP BY slot ORDER BY slot"
	rows, err := s.conn.Query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: counts: %w", err)
	}
	defer rows.Close()
	n := (to - from + step - 1) / step
	out := make([]Count, n)
	for i := range out {
		out[i].Time = time.Unix(from+int64(i)*step, 0).UTC()
	}
	for rows.Next() {
		var slot int64
		var c uint64
		if err := rows.Scan(&slot, &c); err != nil {
			return nil, fmt.Errorf("analytics: counts: %w", err)
		}
		if slot >= 0 && slot < n {
			out[slot].Count = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: counts: %w", err)
	}
	return out, nil
}
