package rulediff

import (
	"fmt"
	"io"
	"strings"
)

// Report is the outcome of a replay; its JSON form is `rules diff --json`.
type Report struct {
	// Base and Working say which rules ran on each side and how; the
	// caller fills them in.
	Base    Side `json:"base"`
	Working Side `json:"working"`
	// Source names where the events came from.
	Source string `json:"source"`
	// Events counts the events replayed; Unbound those no knowledge base
	// compared runs on, on either side.
	Events  int `json:"events"`
	Unbound int `json:"unbound"`
	// Changed counts the events that changed in at least one knowledge
	// base.
	Changed int `json:"changed"`
	// NotReplayed counts the source's events that could not be replayed
	// (stored without the data as it arrived); the caller fills it in.
	NotReplayed int         `json:"not_replayed"`
	KBs         []*KBReport `json:"kbs"`
}

// Side describes one side of the comparison.
type Side struct {
	Ref    string `json:"ref,omitempty"`    // git ref (base)
	Commit string `json:"commit,omitempty"` // its commit
	Root   string `json:"root,omitempty"`   // working tree
	// Engine is "compiled" or "interpreted", with why.
	Engine string `json:"engine"`
}

// KBReport is the change of one knowledge base.
type KBReport struct {
	Name string `json:"name"`
	// BaseVersion and WorkingVersion are kb.yaml's versions; empty where
	// the knowledge base does not exist.
	BaseVersion    string `json:"base_version"`
	WorkingVersion string `json:"working_version"`
	// NotComparable says why the knowledge base was not replayed (one side
	// did not load); the counts are then zero.
	NotComparable string `json:"not_comparable,omitempty"`
	// Events counts the events the knowledge base runs on (on either side);
	// Changed those whose outcome differs.
	Events  int          `json:"events"`
	Changed int          `json:"changed"`
	Rules   []RuleChange `json:"rules"`
	Samples []Sample     `json:"samples"`
}

// RuleChange counts, for one rule, the changed events where it fires in the
// base only, in the working tree only, or on both sides a different number
// of times.
type RuleChange struct {
	Rule         string `json:"rule"`
	BaseOnly     int    `json:"base_only"`
	WorkingOnly  int    `json:"working_only"`
	CountChanged int    `json:"count_changed"`
}

// Sample is one changed event and how it changed.
type Sample struct {
	Tenant string      `json:"tenant"`
	Source string      `json:"source"`
	ID     string      `json:"id"`
	Diffs  []FieldDiff `json:"diffs"`
}

// WriteText writes the report for people: a summary line per knowledge
// base, then the rules that fire differently and the sample diffs.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d events replayed from %s", r.Events, r.Source)
	if r.Unbound > 0 {
		fmt.Fprintf(w, " (%d run by none of the knowledge bases compared)", r.Unbound)
	}
	fmt.Fprintln(w)
	if r.NotReplayed > 0 {
		fmt.Fprintf(w, "%d stored events not replayed: they were stored without the data as it arrived (by an older engine)\n", r.NotReplayed)
	}
	for _, k := range r.KBs {
		fmt.Fprintln(w)
		k.writeText(w)
	}
}

func (k *KBReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s %s: ", k.Name, versions(k.BaseVersion, k.WorkingVersion))
	switch {
	case k.NotComparable != "":
		fmt.Fprintf(w, "not comparable: %s\n", strings.ReplaceAll(k.NotComparable, "\n", "\n    "))
		return
	case k.Events == 0:
		fmt.Fprintln(w, "none of the events replayed is one it runs on")
		return
	case k.Changed == 0:
		fmt.Fprintf(w, "no change over %d events\n", k.Events)
		return
	}
	fmt.Fprintf(w, "%d of %d events change\n", k.Changed, k.Events)
	if len(k.Rules) > 0 {
		width := len("rule")
		for _, c := range k.Rules {
			width = max(width, len(c.Rule))
		}
		fmt.Fprintf(w, "  %-*s  base only  working only  count changed\n", width, "rule")
		for _, c := range k.Rules {
			fmt.Fprintf(w, "  %-*s  %9d  %12d  %13d\n", width, c.Rule, c.BaseOnly, c.WorkingOnly, c.CountChanged)
		}
	}
	for _, s := range k.Samples {
		fmt.Fprintf(w, "  event %s %s %s\n", s.Tenant, s.Source, s.ID)
		for _, d := range s.Diffs {
			fmt.Fprintf(w, "    %s: %s → %s\n", d.Path, d.Base, d.Working)
		}
	}
}

// versions shows the knowledge base's version on each side ("1.0.0",
// "1.0.0 → 1.1.0", "added 1.0.0", "removed").
func versions(base, working string) string {
	switch {
	case base == "" && working == "":
		return ""
	case base == "":
		return "(added, " + working + ")"
	case working == "":
		return "(removed, was " + base + ")"
	case base == working:
		return base
	}
	return base + " → " + working
}
