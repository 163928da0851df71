package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/evolve"
	"github.com/eventrunner/eventrunner/gen/front"
	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rulediff"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// diffFlags are the options of `rules diff`.
type diffFlags struct {
	root, base   string
	events       []string
	storeDir     string
	cfg          app.Config // --cassandra-*, as serve takes them
	from, to     string
	tenants, kbs []string
	limit        int
	samples      int
	progress     int
	json         bool
}

func newRulesDiffCmd() *cobra.Command {
	var o diffFlags
	cmd := &cobra.Command{
		Use:   "diff --base REF [--events FILE | --store-dir DIR | --cassandra-hosts H] [flags]",
		Short: "Replay stored events through the base revision's rules and the working tree's, and report what changes",
		Long: `diff shows the behavioural effect of a rule change over real history. It
replays events through two versions of every knowledge base, the one at git
revision --base (read with git archive; no checkout is touched) and the one in
the working tree (--root), and reports per knowledge base how many events end
differently (data after the rules, fired rules, Event tags/routes/drop, error),
which rules fire in the base only, in the working tree only or a different
number of times, and --samples field-level diffs (JSON path: base → working).

The base revision's rules/ are interpreted through grule against the working
tree's compiled schemas (the schemas this binary holds); a base knowledge base
that does not load against them (e.g. it binds a schema version this binary
lacks) is reported as not comparable. The working tree's rules run compiled
when generated/ is up to date with rules/ and schemas/ (the bundle hash of the
working tree is the binary's), else interpreted through grule; the report says
which. Each knowledge base is replayed on its own, as rules eval --kb runs it;
serve runs the knowledge bases bound to one schema one after another over the
same data, so where several share a schema the report shows each one's own
effect.

Events come from --events (files of structured-mode CloudEvents: JSON lines,
one object or an array, like rules/<kb>/samples.jsonl), or from the store a
serve wrote: Pebble under --store-dir (serve's --data-dir/store) or Cassandra
(--cassandra-hosts and the other --cassandra-* flags, or EVENTRUNNER_* in
the environment, as serve takes them), listed per --tenant between --from and
--to, newest first. A stored record
holds the processed event (data after the rules of its time) and the data as
it arrived; the arrived data is what is replayed.

The report is a report, not a verdict: diff exits 0 whatever changed, and 1
only when it cannot run (bad ref, unreadable events or store).`,
		Example: `  eventrunner rules diff --base origin/main --events rules/orders/samples.jsonl
  eventrunner rules diff --base HEAD~1 --store-dir data/store --tenant acme --from 24h
  eventrunner rules diff --base v1.4.0 --cassandra-hosts db1,db2 --tenant acme --kb orders --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRulesDiff(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", ".", "repository root holding schemas/ and rules/ (the working tree)")
	f.StringVar(&o.base, "base", "", "git revision whose rules to compare with (e.g. origin/main)")
	f.StringSliceVar(&o.events, "events", nil, "replay the structured CloudEvents in these files instead of the store")
	f.StringVar(&o.storeDir, "store-dir", filepath.Join(app.Config{}.Defaults().DataDir, "store"), "Pebble store directory to replay (serve's --data-dir plus /store)")
	addStorageFlags(f, &o.cfg)
	_ = f.MarkHidden("clickhouse-dsn")
	f.StringVar(&o.from, "from", "", "replay events from this time on: RFC 3339, or a duration ago (24h)")
	f.StringVar(&o.to, "to", "", "replay events before this time: RFC 3339, or a duration ago")
	f.StringSliceVar(&o.tenants, "tenant", nil, "replay only these tenants' events (required with a store)")
	f.StringSliceVar(&o.kbs, "kb", nil, "compare only these knowledge bases")
	f.IntVar(&o.limit, "limit", 0, "replay at most this many events (0: all)")
	f.IntVar(&o.samples, "samples", 5, "field-level diffs shown per knowledge base")
	f.IntVar(&o.progress, "progress", 10000, "report progress on stderr every this many events (0: never)")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	_ = cmd.MarkFlagRequired("base")
	return cmd
}

func runRulesDiff(cmd *cobra.Command, o *diffFlags) error {
	ctx := cmd.Context()
	if len(o.events) == 0 {
		// Reading a store: its flags may come from the environment
		// (EVENTRUNNER_CASSANDRA_HOSTS, …), as serve's do.
		if err := applyConfig(cmd.Flags(), ""); err != nil {
			return err
		}
	}
	win, err := parseWindow(o.from, o.to, time.Now())
	if err != nil {
		return err
	}
	src, err := openDiffSource(ctx, cmd, o, win)
	if err != nil {
		return err
	}
	defer src.Close()
	b, err := evolve.ExtractBase(ctx, o.root, o.base)
	if err != nil {
		return err
	}
	defer b.Close()
	pairs, working, err := loadPairs(ctx, o.root, b.Root, o.kbs)
	if err != nil {
		return err
	}
	d := rulediff.New(generated.Registry(), pairs, o.samples)
	p := progress{w: cmd.ErrOrStderr(), every: o.progress, d: d}
	if err := src.Each(ctx, o.limit, func(ev *cloudevents.Event) { d.Add(ev); p.tick() }); err != nil {
		return err
	}
	r := d.Report()
	r.Base = rulediff.Side{Ref: o.base, Commit: b.Commit, Engine: baseEngine}
	r.Working, r.Source, r.NotReplayed = working, src.Name(), src.NotReplayed()
	return writeDiff(cmd.OutOrStdout(), r, o.json)
}

func writeDiff(w io.Writer, r *rulediff.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "Rule change impact: %s (%s) → working tree %s\n", r.Base.Ref, shortCommit(r.Base.Commit), r.Working.Root)
	writeEngines(w, r)
	r.WriteText(w)
	return nil
}

func writeEngines(w io.Writer, r *rulediff.Report) {
	fmt.Fprintf(w, "  base rules:    %s\n  working rules: %s\n", r.Base.Engine, r.Working.Engine)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// progress reports a long replay on stderr.
type progress struct {
	w     io.Writer
	every int
	d     *rulediff.Differ
	n     int
}

func (p *progress) tick() {
	p.n++
	if p.every > 0 && p.n%p.every == 0 {
		fmt.Fprintf(p.w, "rules diff: %d events replayed, %d changed\n", p.n, p.d.Changed())
	}
}

const baseEngine = "interpreted through grule, against the working tree's compiled schemas"

// loadPairs loads the base revision's knowledge bases (under baseRoot,
// interpreted) and the working tree's (under root: compiled when generated/
// is up to date, else interpreted), paired by name, restricted to only when
// it is not empty. working says how the working tree's rules run.
func loadPairs(ctx context.Context, root, baseRoot string, only []string) (pairs []rulediff.Pair, working rulediff.Side, err error) {
	reg := generated.Registry()
	base, err := interpretDir(filepath.Join(baseRoot, "rules"), filepath.ToSlash(baseRoot)+"/", reg)
	if err != nil {
		return nil, working, fmt.Errorf("--base: %w", err)
	}
	working.Root = root
	var head map[string]loaded
	if ok, why := compiledIsCurrent(ctx, root); ok {
		working.Engine = "compiled (" + why + ")"
		head = map[string]loaded{}
		for _, kb := range reg.KnowledgeBases() {
			head[kb.Name()] = loaded{kb: kb}
		}
	} else {
		working.Engine = "interpreted through grule (" + why + ")"
		if head, err = interpretDir(filepath.Join(root, "rules"), "", reg); err != nil {
			return nil, working, fmt.Errorf("--root: %w", err)
		}
	}
	names := map[string]bool{}
	for n := range base {
		names[n] = true
	}
	for n := range head {
		names[n] = true
	}
	for _, n := range only {
		if !names[n] {
			return nil, working, fmt.Errorf("--kb: no knowledge base %q in the base revision or the working tree", n)
		}
	}
	for n := range names {
		if len(only) > 0 && !slices.Contains(only, n) {
			continue
		}
		b, h := base[n], head[n]
		pairs = append(pairs, rulediff.Pair{Name: n, Base: b.kb, Working: h.kb, BaseErr: b.err, WorkingErr: h.err})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Name < pairs[j].Name })
	return pairs, working, nil
}

// loaded is one knowledge base of a rules directory, or why it did not load.
type loaded struct {
	kb  rules.KnowledgeBase
	err error
}

// interpretDir loads every knowledge base under dir through grule, keyed by
// name (by directory where it did not load), trimming trim (a temporary
// directory) from the paths in errors. A missing dir holds none.
func interpretDir(dir, trim string, reg *rules.Registry) (map[string]loaded, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]loaded{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]loaded{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		kb, err := interp.LoadKB(filepath.Join(dir, e.Name()), reg)
		switch {
		case err != nil:
			if trim != "" {
				err = errors.New(strings.ReplaceAll(err.Error(), trim, ""))
			}
			out[e.Name()] = loaded{err: err}
		case kb != nil:
			out[kb.Name()] = loaded{kb: kb}
		}
	}
	return out, nil
}

// compiledIsCurrent reports whether generated/ (this binary's registry) was
// generated from root's schemas/ and rules/, and why or why not.
func compiledIsCurrent(ctx context.Context, root string) (bool, string) {
	b, _, _, err := front.Load(ctx, front.Config{Root: root})
	var derr *diag.Errors
	switch {
	case errors.As(err, &derr) && len(derr.Diagnostics) > 0:
		return false, fmt.Sprintf("the working tree does not compile: %s", derr.Diagnostics[0])
	case err != nil:
		return false, fmt.Sprintf("the working tree does not compile: %v", err)
	case b.Hash != generated.BundleHash:
		return false, fmt.Sprintf("generated/ is bundle %s, the working tree %s: run go generate ./... to compile it", generated.BundleHash, b.Hash)
	}
	return true, "generated/ is up to date, bundle " + b.Hash
}

// window is the --from/--to time range; zero bounds are open.
type window struct{ from, to time.Time }

// parseWindow reads --from and --to: RFC 3339 times or durations before now.
func parseWindow(from, to string, now time.Time) (window, error) {
	var w window
	var err error
	if w.from, err = parseInstant("--from", from, now); err != nil {
		return w, err
	}
	if w.to, err = parseInstant("--to", to, now); err != nil {
		return w, err
	}
	if !w.from.IsZero() && !w.to.IsZero() && !w.from.Before(w.to) {
		return w, fmt.Errorf("--from %s is not before --to %s", w.from.Format(time.RFC3339), w.to.Format(time.RFC3339))
	}
	return w, nil
}

func parseInstant(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseWhen(s, now) // dlq.go: the same words as dlq's --since and --until
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	return t, nil
}

// contains reports whether an event time (RFC 3339, maybe empty) is in w.
// An event without a time matches only a window without a from bound, as
// in the store.
func (w window) contains(evTime string) bool {
	if w.from.IsZero() && w.to.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, evTime)
	if err != nil {
		return w.from.IsZero()
	}
	return (w.from.IsZero() || !t.Before(w.from)) && (w.to.IsZero() || t.Before(w.to))
}

// writeSamplesBehaviour is check --base's "Behaviour over the samples": the
// rules diff of the base revision (extracted under baseRoot) and the working
// tree over every rules/<kb>/samples.jsonl of both, each event once. It
// reports problems in the section rather than failing the check.
func writeSamplesBehaviour(ctx context.Context, w io.Writer, root, baseRoot string) {
	fmt.Fprintln(w, "\nBehaviour over the samples")
	var body strings.Builder
	defer func() { fmt.Fprint(w, indent(body.String(), "  ")) }()
	pairs, working, err := loadPairs(ctx, root, baseRoot, nil)
	if err != nil {
		fmt.Fprintf(&body, "not replayed: %v\n", err)
		return
	}
	events, skipped, err := sampleEvents(root, baseRoot)
	if err != nil {
		fmt.Fprintf(&body, "not replayed: %v\n", err)
		return
	}
	d := rulediff.New(generated.Registry(), pairs, 3)
	for _, ev := range events {
		d.Add(ev)
	}
	r := d.Report()
	r.Base.Engine, r.Working = baseEngine, working
	r.Source = "rules/*/samples.jsonl (base and working tree, each event once)"
	fmt.Fprintf(&body, "base rules:    %s\nworking rules: %s\n", r.Base.Engine, r.Working.Engine)
	for _, s := range skipped {
		fmt.Fprintf(&body, "skipped %s\n", s)
	}
	r.WriteText(&body)
}

// sampleEvents reads the samples of every knowledge base in the working
// tree and then the base, keeping each distinct event (by its compact JSON)
// once; skipped says which could not be read or parsed.
func sampleEvents(root, baseRoot string) (events []*cloudevents.Event, skipped []string, err error) {
	seen := map[string]bool{}
	for _, dir := range []string{root, baseRoot} {
		paths, err := filepath.Glob(filepath.Join(dir, "rules", "*", "samples.jsonl"))
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(paths)
		for _, p := range paths {
			rel, _ := filepath.Rel(dir, p)
			f, err := os.Open(p)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s: %v", rel, err))
				continue
			}
			err = eachEvent(f, func(ev *cloudevents.Event) bool {
				key, _ := json.Marshal(ev)
				if !seen[string(key)] {
					seen[string(key)] = true
					events = append(events, ev)
				}
				return true
			})
			f.Close()
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("the rest of %s: %v", filepath.ToSlash(rel), err))
			}
		}
	}
	return events, skipped, nil
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			b.WriteString(prefix)
		}
		b.WriteString(l)
	}
	return b.String()
}
