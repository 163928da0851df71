package dlq

import (
	"errors"
	"slices"
	"time"
)

// Filter selects dead letters; a zero field matches everything.
type Filter struct {
	Kind   string `json:"kind,omitempty"`
	Type   string `json:"type,omitempty"`
	ID     string `json:"id,omitempty"`
	Source string `json:"source,omitempty"`
	// Since and Until bound when it was dead-lettered (both inclusive).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Redriven, when set, selects the dead letters redriven before (true)
	// or never (false).
	Redriven *bool `json:"redriven,omitempty"`
}

// IsZero reports whether f matches everything.
func (f Filter) IsZero() bool {
	return f.Kind == "" && f.Type == "" && f.ID == "" && f.Source == "" && f.Since.IsZero() && f.Until.IsZero() && f.Redriven == nil
}

func (f Filter) match(dl *DeadLetter) bool {
	switch {
	case f.Kind != "" && dl.Kind != f.Kind,
		f.Type != "" && dl.Event.Type != f.Type,
		f.ID != "" && dl.Event.ID != f.ID,
		f.Source != "" && dl.Event.Source != f.Source,
		!f.Since.IsZero() && dl.Time.Before(f.Since),
		!f.Until.IsZero() && dl.Time.After(f.Until),
		f.Redriven != nil && *f.Redriven != (dl.Redriven != nil):
		return false
	}
	return true
}

// Selection names the dead letters a redrive or purge acts on: Seqs, or
// those Filter matches (All confirms that an empty filter means every one).
type Selection struct {
	Seqs []uint64 `json:"seqs,omitempty"`
	All  bool     `json:"all,omitempty"`
	Filter
}

// ErrNoSelection is Check's error for a selection that names nothing.
var ErrNoSelection = errors.New(`select dead letters: give "seqs", a filter (kind, type, id, source, since, until, redriven) or "all": true`)

// Check refuses a selection that names nothing or mixes seqs with filters.
func (s Selection) Check() error {
	switch {
	case len(s.Seqs) == 0 && s.Filter.IsZero() && !s.All:
		return ErrNoSelection
	case len(s.Seqs) > 0 && (s.All || !s.Filter.IsZero()):
		return errors.New(`select dead letters: "seqs" cannot be combined with a filter or "all"`)
	}
	return nil
}

// seqs is s.Seqs sorted, without repeats.
func (s Selection) seqs() []uint64 {
	out := slices.Clone(s.Seqs)
	slices.Sort(out)
	return slices.Compact(out)
}
