package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the engine version, the bundle hash and the compiled schemas and knowledge bases",
		Long: `version prints what this binary runs: the engine version, the bundle hash
(which names the exact schemas, rules and generator version compiled in, and
which every processed event carries in its erbundle attribute), and every
schema version (with its hash) and knowledge base (with its version and the
schema version it binds). The first two lines are stable for scripts:
"eventrunner <version>" and "bundle <hash>".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			writeVersion(cmd.OutOrStdout(), generated.Registry())
			return nil
		},
	}
}

func writeVersion(w io.Writer, reg *rules.Registry) {
	fmt.Fprintf(w, "eventrunner %s\nbundle %s\n", version, reg.BundleHash)
	fmt.Fprintf(w, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, s := range reg.Schemas() {
		hash := s.Hash
		if len(hash) > 12 {
			hash = hash[:12]
		}
		fmt.Fprintf(w, "schema %s sha256:%s %s\n", s.ID, hash, s.File)
	}
	for _, kb := range reg.KnowledgeBases() {
		fmt.Fprintf(w, "kb %s %s binds %s on [%s] rules %d\n", kb.Name(), kb.Version(), kb.SchemaID(), strings.Join(kb.On(), ", "), len(kb.Rules()))
	}
}
