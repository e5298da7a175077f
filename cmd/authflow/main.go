// Command authflow is the authflow CLI: run the server, validate and
// explain strategy files, list the built-in providers, print the JSON
// Schema of strategy files, and say which build it is.
//
//	authflow serve [--config FILE] [--strategies FILE] [--addr HOST:PORT] ...
//	authflow demo [--addr HOST:PORT]
//	authflow validate [--format text|json] [--online] FILE...
//	authflow explain [--online] FILE NAME
//	authflow token FILE NAME
//	authflow login [--loopback] FILE NAME
//	authflow providers
//	authflow schema
//	authflow version
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit status without printing anything more.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and returns the exit status; tests call it directly.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		if code, ok := err.(exitError); ok {
			return int(code)
		}
		fmt.Fprintln(root.ErrOrStderr(), "authflow:", err)
		return 2
	}
	return 0
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "authflow",
		Short:         "A config-driven, declarative auth-strategy engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newDemoCmd(), newValidateCmd(), newExplainCmd(), newProvidersCmd(), newSchemaCmd(),
		newTokenCmd(clientDeps{}), newLoginCmd(clientDeps{}), newVersionCmd())
	withUsage(root)
	return root
}
