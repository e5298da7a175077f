package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

func newProvidersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "List the built-in strategies and the variables each needs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLABEL\tYOU SET\tSTEPS")
			for _, st := range strategies.Catalogue() {
				var names []string
				for _, s := range st.Steps {
					names = append(names, s.Name)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Name, st.Label, strings.Join(st.Required(), ", "), strings.Join(names, ", "))
			}
			return tw.Flush()
		},
	}
}
