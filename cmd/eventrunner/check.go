package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/evolve"
	"github.com/eventrunner/eventrunner/gen/front"
)

func newCheckCmd() *cobra.Command {
	var root, base, lock string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate schemas/ and rules/ exactly as go generate does; with --base, report on a pull request",
		Long: `check loads every schema under schemas/ and every knowledge base under rules/,
validates and type-checks them with the generator's own front ends, checks
schema evolution against schemas/schemas.lock (published versions unchanged,
new versions backward compatible unless "x-breaking": true), and prints every
error and warning as file:line:col: message. It exits 1 when there are errors.

With --base <git ref> (e.g. origin/main) it prints a pull-request report
instead: every schema version added, changed or removed since the base
revision, whether it is backward compatible and why (property by property),
and which knowledge bases the change affects, and whether their rules compile
against the new versions, then the behaviour of the change: every
rules/<kb>/samples.jsonl of the base and the working tree replayed through
both revisions' rules, as 'eventrunner rules diff' does. It exits 1 when the
change must be refused (the behaviour section never refuses). The base
revision is read with git (git archive); no checkout is touched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if base != "" {
				return checkBase(cmd, root, base, lock)
			}
			return checkTree(cmd, root, lock)
		},
	}
	cmd.Flags().StringVar(&root, "root", ".", "repository root holding schemas/ and rules/")
	cmd.Flags().StringVar(&base, "base", "", "git revision to compare with (e.g. origin/main): print a pull-request report")
	cmd.Flags().StringVar(&lock, "lock", evolve.DefaultLockPath, "schema lock file, relative to --root")
	return cmd
}

func checkTree(cmd *cobra.Command, root, lock string) error {
	b, _, warnings, err := front.Load(cmd.Context(), front.Config{Root: root, Lock: lock})
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var derr *diag.Errors
	if errors.As(err, &derr) {
		printDiagnostics(errOut, derr.Diagnostics)
		return exitError{1}
	}
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(errOut, w)
	}
	rules := 0
	for _, kb := range b.KBs {
		rules += len(kb.Rules)
	}
	fmt.Fprintf(out, "ok: %d schemas, %d knowledge bases, %d rules, bundle %s\n", len(b.Schemas), len(b.KBs), rules, b.Hash)
	return nil
}

func printDiagnostics(w io.Writer, ds []diag.Diagnostic) {
	errs := 0
	for _, d := range ds {
		fmt.Fprintln(w, d)
		if d.Severity == diag.Error {
			errs++
		}
	}
	fmt.Fprintf(w, "%d error(s)\n", errs)
}

// checkBase prints the pull-request report of the working tree against a
// base revision.
func checkBase(cmd *cobra.Command, root, ref, lock string) error {
	b, err := evolve.ExtractBase(cmd.Context(), root, ref)
	if err != nil {
		return err
	}
	defer b.Close()
	baseTree := evolve.LoadTree(b.Root, lock)
	head := evolve.LoadTree(root, lock)
	r := evolve.Diff(baseTree, head)
	w := cmd.OutOrStdout()
	short := b.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	fmt.Fprintf(w, "Schema and rule changes: %s (%s) → working tree %s\n", ref, short, root)
	if errs := baseTree.Errors(); len(errs) > 0 {
		fmt.Fprintf(w, "note: the base revision itself has %d error(s); it was compared as far as it loads\n", len(errs))
	}
	fmt.Fprintln(w)
	r.WriteChanges(w)
	writeSamplesBehaviour(cmd.Context(), w, root, b.Root)
	r.WriteResult(w)
	if !r.OK() {
		return exitError{1}
	}
	return nil
}
