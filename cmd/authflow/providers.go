package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

// providersDocs is where a built-in without a "docs" key is described (a
// section per built-in).
const providersDocs = "https://github.com/authflow/authflow/blob/main/docs/providers.md"

func newProvidersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "List the built-in strategies, the variables each needs, and where its provider documents it",
		Long: `List the built-in strategies: name, label, the variables you set, the steps, and
DOCS, the provider's documentation of the integration (the built-in's "docs"
key; docs/providers.md describes each built-in further).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLABEL\tYOU SET\tSTEPS\tDOCS")
			for _, st := range strategies.Catalogue() {
				var names []string
				for _, s := range st.Steps {
					names = append(names, s.Name)
				}
				docs := st.Docs
				if docs == "" {
					docs = providersDocs
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Name, st.Label, strings.Join(st.Required(), ", "), strings.Join(names, ", "), docs)
			}
			return tw.Flush()
		},
	}
}
