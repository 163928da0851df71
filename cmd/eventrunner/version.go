package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/generated"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the engine version, the bundle hash and the compiled schemas and knowledge bases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := generated.Registry()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "eventrunner %s\nbundle %s\n", version, reg.BundleHash)
			for _, s := range reg.Schemas() {
				fmt.Fprintf(w, "schema %s\n", s.ID)
			}
			for _, kb := range reg.KnowledgeBases() {
				fmt.Fprintf(w, "kb %s %s on [%s] rules %d\n", kb.Name(), kb.Version(), strings.Join(kb.On(), ", "), len(kb.Rules()))
			}
			return nil
		},
	}
}
