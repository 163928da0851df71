package evolve

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/grl"
	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/schema"
)

// Tree is one revision of the repository's schemas and rules, loaded by
// the generator's own front ends.
type Tree struct {
	Root    string
	Schemas []*ir.Schema
	KBs     []*ir.KB
	Lock    *Lock
	// RulesLoaded is false when schema errors kept the knowledge bases
	// from being loaded.
	RulesLoaded bool
	// Diags are the problems go generate would report for this tree
	// (evolution included), sorted.
	Diags []diag.Diagnostic
}

// LoadTree loads root as go generate does (lockPath relative to root). It
// keeps whatever loaded, so a tree with errors can still be reported on;
// knowledge bases are loaded only when the schemas themselves loaded
// cleanly, as in gen.Load.
func LoadTree(root, lockPath string) *Tree {
	var l diag.List
	t := &Tree{Root: root}
	t.Schemas = schema.Load(root, &l)
	schemaErrs := l.HasErrors()
	t.Lock = ReadLock(root, lockPath, &l)
	Check(root, t.Schemas, t.Lock, &l)
	if !schemaErrs {
		t.KBs = grl.Load(root, t.Schemas, &l)
		t.RulesLoaded = true
	}
	t.Diags = l.Sorted()
	return t
}

// Errors returns the tree's error diagnostics.
func (t *Tree) Errors() []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range t.Diags {
		if d.Severity == diag.Error {
			out = append(out, d)
		}
	}
	return out
}

func (t *Tree) schema(id string) *ir.Schema {
	for _, s := range t.Schemas {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func (t *Tree) kb(name string) *ir.KB {
	for _, kb := range t.KBs {
		if kb.Name == name {
			return kb
		}
	}
	return nil
}

// Schema statuses in a report.
const (
	Added   = "added"
	Changed = "changed"
	Removed = "removed"
)

// SchemaReport is what a change does to one schema version.
type SchemaReport struct {
	ID     string
	Status string // Added, Changed or Removed
	// Against is the version the changes are relative to: the previous
	// version for an added one, the base revision's for a changed one.
	Against  string
	Changes  []Change
	Breaking bool // some change is breaking
	Declared bool // the version declares "x-breaking": true
	// Problem says why the change is refused; empty when it is accepted.
	Problem string
}

// KBReport is how a change affects one knowledge base.
type KBReport struct {
	Name                 string
	Version, BaseVersion string // empty when absent on that side
	Binds, BaseBinds     string
	Reads                []string // properties its rules use
	Notes                []string
	Problem              string
}

// Report is a pull request's effect on schemas and knowledge bases.
type Report struct {
	Schemas []SchemaReport
	KBs     []KBReport
	// Unaffected counts the knowledge bases the change leaves alone.
	Unaffected int
	// HeadErrors are the diagnostics go generate reports on the head tree.
	HeadErrors []diag.Diagnostic
}

// OK reports whether the change can be merged.
func (r *Report) OK() bool { return len(r.Problems()) == 0 }

// Problems lists every reason the change is refused.
func (r *Report) Problems() []string {
	var out []string
	for _, s := range r.Schemas {
		if s.Problem != "" {
			out = append(out, s.ID+": "+s.Problem)
		}
	}
	for _, kb := range r.KBs {
		if kb.Problem != "" {
			out = append(out, "knowledge base "+kb.Name+": "+kb.Problem)
		}
	}
	for _, d := range r.HeadErrors {
		out = append(out, d.String())
	}
	return out
}

// Diff compares a base revision with the head tree. A version is published
// when the base tree has it or the base lock lists it: changing or removing
// one is refused, whatever the head's lock says.
func Diff(base, head *Tree) *Report {
	r := &Report{HeadErrors: head.Errors()}
	published := map[string]string{} // ID → hash
	for _, s := range base.Schemas {
		published[s.ID] = s.Hash
	}
	for id, e := range base.Lock.Entries {
		published[id] = e.Hash
	}
	ids := map[string]bool{}
	for id := range published {
		ids[id] = true
	}
	for _, s := range head.Schemas {
		ids[s.ID] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sortIDs(sorted)
	for _, id := range sorted {
		if sr, ok := diffSchema(id, published, base, head); ok {
			r.Schemas = append(r.Schemas, sr)
		}
	}
	r.diffKBs(base, head)
	return r
}

func diffSchema(id string, published map[string]string, base, head *Tree) (SchemaReport, bool) {
	hash, wasPublished := published[id]
	hs := head.schema(id)
	sr := SchemaReport{ID: id}
	switch {
	case wasPublished && hs == nil:
		if _, err := os.Stat(filepath.Join(head.Root, filepath.FromSlash(SchemaPath(id)))); err == nil {
			sr.Status = Changed
			sr.Problem = "published version edited, and it no longer loads (see the errors below)"
			return sr, true
		}
		sr.Status = Removed
		sr.Problem = "published version removed: producers sending dataschema " + id + " would be refused"
		return sr, true
	case wasPublished && hs.Hash == hash:
		if !head.Lock.Has(id) && len(head.Lock.Entries) > 0 {
			sr.Status = Changed
			sr.Problem = "unchanged, but " + head.Lock.Path + " no longer lists this published version"
			return sr, true
		}
		return sr, false
	case wasPublished:
		sr.Status = Changed
		if bs := base.schema(id); bs != nil {
			sr.Against = bs.ID + " (base)"
			sr.Changes = Compare(bs, hs)
			sr.Breaking = Breaking(sr.Changes)
		}
		sr.Problem = fmt.Sprintf("published version edited (sha256 %s… → %s…): published versions are immutable; publish the change as v%d", hash[:12], hs.Hash[:12], lastVersion(head, hs.Type)+1)
		return sr, true
	}
	sr.Status = Added
	sr.Declared = hs.Breaking
	if prev := previous(head, hs); prev != nil {
		sr.Against = prev.ID
		sr.Changes = Compare(prev, hs)
		sr.Breaking = Breaking(sr.Changes)
		if sr.Breaking && !sr.Declared {
			sr.Problem = "not backward compatible with " + prev.ID + `; keep its contract or declare "x-breaking": true`
		}
	}
	return sr, true
}

// previous returns the highest version of s's type below s in t.
func previous(t *Tree, s *ir.Schema) *ir.Schema {
	var prev *ir.Schema
	for _, o := range t.Schemas {
		if o.Type == s.Type && o.Version < s.Version && (prev == nil || o.Version > prev.Version) {
			prev = o
		}
	}
	return prev
}

func lastVersion(t *Tree, typ string) int {
	n := 0
	for _, s := range t.Schemas {
		if s.Type == typ && s.Version > n {
			n = s.Version
		}
	}
	return n
}

// diffKBs reports every knowledge base whose rules, header or bound event
// type the change touches.
func (r *Report) diffKBs(base, head *Tree) {
	touched := map[string][]SchemaReport{} // by event type
	for _, sr := range r.Schemas {
		t, _, _ := strings.Cut(sr.ID, "/")
		touched[t] = append(touched[t], sr)
	}
	names := map[string]bool{}
	for _, kb := range base.KBs {
		names[kb.Name] = true
	}
	for _, kb := range head.KBs {
		names[kb.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		if kr, ok := diffKB(base.kb(name), head.kb(name), head, touched); ok {
			r.KBs = append(r.KBs, kr)
		} else {
			r.Unaffected++
		}
	}
}

func diffKB(bk, hk *ir.KB, head *Tree, touched map[string][]SchemaReport) (KBReport, bool) {
	kr := KBReport{}
	if bk != nil {
		kr.Name, kr.BaseVersion, kr.BaseBinds = bk.Name, bk.Version, bk.Schema.ID
	}
	if hk == nil {
		switch _, err := os.Stat(filepath.Join(head.Root, filepath.FromSlash(bk.Dir), "kb.yaml")); {
		case err == nil && !head.RulesLoaded:
			kr.Notes = append(kr.Notes, "not checked: the head's schemas have errors")
		case err == nil:
			kr.Problem = "does not compile any more (see the errors below)"
		default:
			kr.Notes = append(kr.Notes, "removed")
		}
		return kr, true
	}
	kr.Name, kr.Version, kr.Binds = hk.Name, hk.Version, hk.Schema.ID
	kr.Reads = FieldReads(hk)
	affected := false
	switch {
	case bk == nil:
		kr.Notes = append(kr.Notes, "new knowledge base; compiles against "+hk.Schema.ID)
		affected = true
	default:
		if !sameSources(bk, hk) {
			affected = true
			if bk.Version == hk.Version {
				kr.Notes = append(kr.Notes, "rules changed but the version is still "+hk.Version+"; consider bumping it in kb.yaml")
			} else {
				kr.Notes = append(kr.Notes, "rules changed")
			}
		}
		if bk.Schema.ID != hk.Schema.ID {
			affected = true
			kr.Notes = append(kr.Notes, fmt.Sprintf("now binds %s (was %s) and compiles against it", hk.Schema.ID, bk.Schema.ID))
		}
		if bk.Version != hk.Version || bk.MaxCycles != hk.MaxCycles || !slices.Equal(bk.On, hk.On) {
			affected = true
		}
	}
	for _, sr := range touched[hk.Schema.Type] {
		affected = true
		kr.Notes = append(kr.Notes, kbImpact(hk, sr, head)...)
	}
	return kr, affected
}

// kbImpact says what one schema change means for a knowledge base of the
// same event type.
func kbImpact(kb *ir.KB, sr SchemaReport, head *Tree) []string {
	var notes []string
	for _, c := range sr.Changes {
		if r := touches(c.Path, FieldReads(kb)); len(r) > 0 && (c.Breaking || sr.ID == kb.Schema.ID) {
			notes = append(notes, fmt.Sprintf("%s: %s (its rules use %s)", sr.ID, c, strings.Join(r, ", ")))
		}
	}
	s := head.schema(sr.ID)
	switch {
	case sr.Status == Removed:
		notes = append(notes, sr.ID+" removed")
	case s == nil || s.ID == kb.Schema.ID:
		// Bound version: head's own compile errors say it all.
	case s.Version > kb.Schema.Version:
		if errs := CompileAgainst(kb, s); len(errs) == 0 {
			notes = append(notes, fmt.Sprintf("stays on %s; its rules also compile against %s, so it can move by editing kb.yaml", kb.Schema.ID, s.ID))
		} else {
			n := fmt.Sprintf("stays on %s; its rules would not compile against %s:", kb.Schema.ID, s.ID)
			for _, d := range errs {
				n += "\n      " + d.String()
			}
			notes = append(notes, n)
		}
	default:
		notes = append(notes, fmt.Sprintf("binds %s, so %s does not affect it", kb.Schema.ID, sr.ID))
	}
	return notes
}

func sameSources(a, b *ir.KB) bool {
	return slices.EqualFunc(a.Sources, b.Sources, func(x, y ir.Source) bool { return x == y })
}

// Write prints the report for people reading a pull request.
func (r *Report) Write(w io.Writer) {
	r.WriteChanges(w)
	r.WriteResult(w)
}

// WriteChanges writes the report without its result line, for callers that
// add sections of their own before it (check --base: the behaviour over
// the samples).
func (r *Report) WriteChanges(w io.Writer) {
	fmt.Fprintln(w, "Schemas")
	if len(r.Schemas) == 0 {
		fmt.Fprintln(w, "  no schema version added, changed or removed")
	}
	for _, s := range r.Schemas {
		fmt.Fprintf(w, "  %-8s %s  %s\n", s.Status, s.ID, s.verdict())
		for _, c := range s.Changes {
			tag := "ok      "
			if c.Breaking {
				tag = "BREAKING"
			}
			line := fmt.Sprintf("    %s %s", tag, c)
			if c.Breaking && c.Pos.File != nil {
				line += "  [" + c.Pos.String() + "]"
			}
			if c.Hint != "" {
				line += " (" + c.Hint + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w, "\nKnowledge bases")
	if len(r.KBs) == 0 {
		fmt.Fprintln(w, "  none affected")
	}
	for _, kb := range r.KBs {
		fmt.Fprintf(w, "  %s\n", kb.headline())
		if len(kb.Reads) > 0 {
			fmt.Fprintf(w, "    uses %s\n", strings.Join(kb.Reads, ", "))
		}
		for _, n := range kb.Notes {
			fmt.Fprintf(w, "    %s\n", n)
		}
		if kb.Problem != "" {
			fmt.Fprintf(w, "    REFUSED: %s\n", kb.Problem)
		}
	}
	if r.Unaffected > 0 {
		fmt.Fprintf(w, "  (%d other knowledge base(s) unaffected)\n", r.Unaffected)
	}
	if len(r.HeadErrors) > 0 {
		fmt.Fprintln(w, "\ngo generate would refuse the head tree:")
		for _, d := range r.HeadErrors {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
}

// WriteResult writes the result line: OK, or REFUSED with the counts.
func (r *Report) WriteResult(w io.Writer) {
	if !r.OK() {
		var schemas, kbs int
		for _, s := range r.Schemas {
			if s.Problem != "" {
				schemas++
			}
		}
		for _, kb := range r.KBs {
			if kb.Problem != "" {
				kbs++
			}
		}
		fmt.Fprintf(w, "\nResult: REFUSED (%d schema problem(s), %d knowledge base problem(s), %d go generate error(s))\n", schemas, kbs, len(r.HeadErrors))
	} else {
		fmt.Fprintln(w, "\nResult: OK")
	}
}

func (s SchemaReport) verdict() string {
	var v string
	switch {
	case s.Status == Added && s.Against == "":
		v = "first version of its event type"
	case s.Status == Added && !s.Breaking:
		v = "backward compatible with " + s.Against
	case s.Status == Added && s.Declared:
		v = "breaking change from " + s.Against + `, declared with "x-breaking": true`
	case s.Status == Added:
		return "REFUSED: " + s.Problem
	}
	if s.Problem != "" {
		if v != "" {
			v += "; "
		}
		v += "REFUSED: " + s.Problem
	}
	return v
}

func (kb KBReport) headline() string {
	v := kb.Version
	if kb.BaseVersion != "" && kb.BaseVersion != kb.Version && kb.Version != "" {
		v = kb.BaseVersion + " → " + kb.Version
	}
	if v == "" {
		v = kb.BaseVersion
	}
	binds := kb.Binds
	if binds == "" {
		binds = kb.BaseBinds
	}
	return fmt.Sprintf("%s %s (binds %s)", kb.Name, v, binds)
}
